// The Worker's configuration: bindings and vars come from wrangler.toml (types in
// worker-configuration.d.ts, `npm run cf-typegen`); secrets are checked here once per isolate.

/** Secrets (`wrangler secret put`, or .dev.vars locally). Each key is at least 256 bits, base64. */
interface Secrets {
  SESSION_SIGNING_KEY?: string;
  PASSWORD_PEPPER?: string;
  BACKUP_CODE_PEPPER?: string;
  /** "kid:base64key" pairs separated by commas; the first encrypts new secrets, all decrypt. */
  TOTP_ENCRYPTION_KEYS?: string;
  /** Local development only: the seeded admin's password (scripts/dev.mjs). */
  DEMO_ADMIN_PASSWORD?: string;
}

declare global {
  interface Env extends Secrets {}
  namespace Cloudflare {
    interface Env extends Secrets {}
  }
}

export interface Config {
  productName: string;
  publicOrigin: string;
  emailFrom: string;
  auditRetentionDays: number;
  sessionSigningKey: Uint8Array;
  passwordPepper: Uint8Array;
  backupCodePepper: Uint8Array;
  totpKeys: { current: string; keys: Map<string, Uint8Array> };
}

const MIN_SECRET_BYTES = 32;

export class ConfigError extends Error {}

const cache = new WeakMap<Env, Config>();

/** Reads and checks the configuration; throws ConfigError naming what is missing or weak. */
export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const problems: string[] = [];
  const secret = (name: keyof Env): Uint8Array => {
    const bytes = decodeSecret(env[name] as string | undefined);
    if (!bytes) problems.push(`${String(name)} is missing or not base64`);
    else if (bytes.length < MIN_SECRET_BYTES) problems.push(`${String(name)} is shorter than 256 bits`);
    return bytes ?? new Uint8Array();
  };
  const config: Config = {
    productName: env.PRODUCT_NAME,
    publicOrigin: env.PUBLIC_ORIGIN,
    emailFrom: env.EMAIL_FROM,
    auditRetentionDays: parseRetentionDays(env.AUDIT_RETENTION_DAYS, problems),
    sessionSigningKey: secret("SESSION_SIGNING_KEY"),
    passwordPepper: secret("PASSWORD_PEPPER"),
    backupCodePepper: secret("BACKUP_CODE_PEPPER"),
    totpKeys: parseTotpKeys(env.TOTP_ENCRYPTION_KEYS, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  cache.set(env, config);
  return config;
}

/** At least a month, so a misread value cannot wipe the trail; at most ten years. */
function parseRetentionDays(value: string | undefined, problems: string[]): number {
  const days = Number(value);
  if (!/^\d{1,4}$/.test(value ?? "") || days < 30 || days > 3650) {
    problems.push("AUDIT_RETENTION_DAYS must be a whole number of days from 30 to 3650");
  }
  return days;
}

function parseTotpKeys(value: string | undefined, problems: string[]): Config["totpKeys"] {
  const keys = new Map<string, Uint8Array>();
  let current = "";
  for (const entry of (value ?? "").split(",").filter((e) => e.trim() !== "")) {
    const [kid, encoded] = entry.trim().split(":", 2);
    const key = decodeSecret(encoded);
    if (!kid || !/^[A-Za-z0-9_-]{1,16}$/.test(kid) || !key || key.length !== 32) {
      problems.push(`TOTP_ENCRYPTION_KEYS entry "${kid ?? ""}" must be kid:base64 of exactly 32 bytes`);
      continue;
    }
    keys.set(kid, key);
    current ||= kid;
  }
  if (keys.size === 0 && !problems.some((p) => p.startsWith("TOTP"))) {
    problems.push("TOTP_ENCRYPTION_KEYS is missing");
  }
  return { current, keys };
}

function decodeSecret(value: string | undefined): Uint8Array | null {
  if (!value) return null;
  try {
    return Uint8Array.from(atob(value.trim().replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
