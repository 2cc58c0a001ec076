// .dev.vars holds local development's secrets; it is created with random values and never committed.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DEV_VARS = join(import.meta.dirname, "..", ".dev.vars");

export function readDevVars(): Record<string, string> {
  return readVarsFile(DEV_VARS);
}

/** The variables of a .dev.vars (or --env-file) file; none when it does not exist. */
export function readVarsFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
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
    AUDIT_SIGNING_KEY: randomBase64(32),
    TOTP_ENCRYPTION_KEYS: `${keyId}:${randomBase64(32)}`,
  };
}

/**
 * The variables only local development has (src/env.ts refuses them in a deployed Worker): the
 * development flag, a localhost origin and a sender on a reserved example domain.
 */
export function developmentVars(origin: string) {
  return { ENVIRONMENT: "development", PUBLIC_ORIGIN: origin, EMAIL_FROM: "no-reply@example.com" };
}

/** Writes variables in the .dev.vars (and --env-file) format, readable by the owner only. */
export function writeVarsFile(path: string, vars: Record<string, string>, comment?: string): void {
  const lines = Object.entries(vars).map(([name, value]) => `${name}="${value}"`);
  writeFileSync(path, `${comment ? `# ${comment}\n` : ""}${lines.join("\n")}\n`, { mode: 0o600 });
}

/**
 * Creates .dev.vars with fresh random secrets when it is missing. An existing file keeps its values;
 * variables added to development since it was made are appended (a .dev.vars older than the rule
 * that keeps development values out of wrangler.toml lacks PUBLIC_ORIGIN, say).
 */
export function ensureDevVars(): { created: boolean; vars: Record<string, string> } {
  const defaults = {
    ...randomSecrets("dev1"),
    DEMO_ADMIN_PASSWORD: randomPassword(),
    ...developmentVars("http://localhost:8787"),
  };
  const existing = readDevVars();
  const created = !existsSync(DEV_VARS);
  const missing = Object.entries(defaults).filter(([name]) => existing[name] === undefined);
  if (created) {
    writeVarsFile(DEV_VARS, defaults, "Local development only; made by npm run dev. Never commit.");
  } else if (missing.length > 0) {
    appendFileSync(DEV_VARS, missing.map(([name, value]) => `${name}="${value}"\n`).join(""));
  }
  return { created, vars: { ...Object.fromEntries(missing), ...existing } };
}
