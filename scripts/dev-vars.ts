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

const random = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64");

/** Creates .dev.vars with fresh random secrets when it is missing; an existing file is kept as it is. */
export function ensureDevVars(): { created: boolean; vars: Record<string, string> } {
  if (existsSync(DEV_VARS)) return { created: false, vars: readDevVars() };
  const vars = {
    SESSION_SIGNING_KEY: random(32),
    PASSWORD_PEPPER: random(32),
    BACKUP_CODE_PEPPER: random(32),
    TOTP_ENCRYPTION_KEYS: `dev1:${random(32)}`,
    DEMO_ADMIN_PASSWORD: random(15).replace(/[+/=]/g, "x"),
  };
  const lines = Object.entries(vars).map(([name, value]) => `${name}="${value}"`);
  writeFileSync(
    DEV_VARS,
    `# Local development only; made by npm run dev. Never commit.\n${lines.join("\n")}\n`,
    {
      mode: 0o600,
    },
  );
  return { created: true, vars };
}
