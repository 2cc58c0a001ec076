// .dev.vars holds local development's secrets; it is created with random values and never committed.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DEV_VARS = join(import.meta.dirname, "..", ".dev.vars");

export function readDevVars(): Record<string, string> {
  if (!existsSync(DEV_VARS)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/);
    if (match?.[1]) vars[match[1]] = match[2] ?? "";
  }
  return vars;
}

/** Random bytes in base64: every secret and throwaway password the scripts make. */
export function randomBase64(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64");
}

/** A password of letters and digits (no characters a shell or a .env file would treat specially). */
export function randomPassword(): string {
  return randomBase64(15).replace(/[+/=]/g, "x");
}

/** The Worker's secrets, fresh and random; `keyId` names the TOTP encryption key. */
export function randomSecrets(keyId: string) {
  return {
    SESSION_SIGNING_KEY: randomBase64(32),
    PASSWORD_PEPPER: randomBase64(32),
    BACKUP_CODE_PEPPER: randomBase64(32),
    TOTP_ENCRYPTION_KEYS: `${keyId}:${randomBase64(32)}`,
  };
}

/** Writes variables in the .dev.vars (and --env-file) format, readable by the owner only. */
export function writeVarsFile(path: string, vars: Record<string, string>, comment?: string): void {
  const lines = Object.entries(vars).map(([name, value]) => `${name}="${value}"`);
  writeFileSync(path, `${comment ? `# ${comment}\n` : ""}${lines.join("\n")}\n`, { mode: 0o600 });
}

/** Creates .dev.vars with fresh random secrets when it is missing; an existing file is kept as it is. */
export function ensureDevVars(): { created: boolean; vars: Record<string, string> } {
  if (existsSync(DEV_VARS)) return { created: false, vars: readDevVars() };
  const vars = { ...randomSecrets("dev1"), DEMO_ADMIN_PASSWORD: randomPassword() };
  writeVarsFile(DEV_VARS, vars, "Local development only; made by npm run dev. Never commit.");
  return { created: true, vars };
}
