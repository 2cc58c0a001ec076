// The Worker's configuration: bindings and vars come from wrangler.toml (types in
// worker-configuration.d.ts, `npm run cf-typegen`); secrets are checked here once per isolate.

/** Secrets (`wrangler secret put`, or .dev.vars locally). Each key is at least 256 bits, base64. */
interface Secrets {
  SESSION_SIGNING_KEY?: string;
  PASSWORD_PEPPER?: string;
  BACKUP_CODE_PEPPER?: string;
  /** Keys the audit trail's row MACs, chain links and checkpoint signatures (src/audit/chain.ts). */
  AUDIT_SIGNING_KEY?: string;
  /** "kid:base64key" pairs separated by commas; the first encrypts new secrets, all decrypt. */
  TOTP_ENCRYPTION_KEYS?: string;
  /** Local development only: the seeded admin's password (scripts/dev.ts). */
  DEMO_ADMIN_PASSWORD?: string;
  /**
   * "development" in .dev.vars and the tests only: allows an http://localhost origin and senders on
   * reserved example domains. A deployed Worker never has it, so those values refuse to start there.
   */
  ENVIRONMENT?: string;
}

declare global {
  interface Env extends Secrets {}
  namespace Cloudflare {
    interface Env extends Secrets {}
  }
}

export interface Config {
  /** Local development or the tests (ENVIRONMENT=development); never a deployed Worker. */
  development: boolean;
  productName: string;
  publicOrigin: string;
  emailFrom: string;
  auditRetentionDays: number;
  /** Emails a tenant may send per day (EMAIL_DAILY_LIMIT); past it, the rest of the day's are dropped. */
  emailDailyLimit: number;
  sessionSigningKey: Uint8Array;
  passwordPepper: Uint8Array;
  backupCodePepper: Uint8Array;
  auditSigningKey: Uint8Array;
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
  const development = env.ENVIRONMENT === "development";
  const config: Config = {
    development,
    productName: env.PRODUCT_NAME,
    publicOrigin: parsePublicOrigin(env.PUBLIC_ORIGIN, development, problems),
    emailFrom: parseSender(env.EMAIL_FROM, development, problems),
    auditRetentionDays: parseRetentionDays(env.AUDIT_RETENTION_DAYS, problems),
    emailDailyLimit: parseEmailDailyLimit(env.EMAIL_DAILY_LIMIT, problems),
    sessionSigningKey: secret("SESSION_SIGNING_KEY"),
    passwordPepper: secret("PASSWORD_PEPPER"),
    backupCodePepper: secret("BACKUP_CODE_PEPPER"),
    auditSigningKey: secret("AUDIT_SIGNING_KEY"),
    totpKeys: parseTotpKeys(env.TOTP_ENCRYPTION_KEYS, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  cache.set(env, config);
  return config;
}

/**
 * What a deployed Worker would refuse of these variables (empty when it would serve): the same
 * rules as loadConfig's, for the deploy script to check before anything is uploaded.
 */
export function deploymentProblems(vars: { PUBLIC_ORIGIN?: string; EMAIL_FROM?: string }): string[] {
  const problems: string[] = [];
  parsePublicOrigin(vars.PUBLIC_ORIGIN, false, problems);
  parseSender(vars.EMAIL_FROM, false, problems);
  return problems;
}

/**
 * The origin users reach the service at: the links in emails, the Origin that unsafe requests may
 * carry. A deployed Worker needs https and a real host: a local or example origin would send people
 * to a page that is not ours and let that origin post to us.
 */
function parsePublicOrigin(value: string | undefined, development: boolean, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(value ?? "");
  } catch {
    problems.push("PUBLIC_ORIGIN is missing or not a URL");
    return "";
  }
  if (url.origin === "null" || `${url.origin}/` !== url.href.replace(/\/?$/, "/")) {
    problems.push("PUBLIC_ORIGIN must be an origin alone: scheme, host and port");
  }
  if (!development && (url.protocol !== "https:" || isReservedHost(url.hostname))) {
    problems.push("PUBLIC_ORIGIN must be https on a real host (not localhost or an example domain)");
  }
  return url.origin;
}

/** The sender of every email: an address alone, never a local or example domain once deployed. */
function parseSender(value: string | undefined, development: boolean, problems: string[]): string {
  const match = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/.exec(value ?? "");
  if (!match?.[1]) {
    problems.push("EMAIL_FROM must be an email address");
    return "";
  }
  if (!development && isReservedHost(match[1])) {
    problems.push("EMAIL_FROM must be on a real domain (not localhost or an example domain)");
  }
  return value ?? "";
}

/**
 * Hosts that are never a deployment's: any IP literal (a deployment is reached by name, and a
 * literal is loopback, private or someone else's), localhost, and the names RFC 2606, 6761, 6762,
 * 8375, 9476 and ICANN reserve for examples, tests and private networks.
 */
function isReservedHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[") || /^[\d.]+$/.test(host) || /^0x/i.test(host)) return true;
  const reservedNames =
    /(^|\.)(localhost|example|test|invalid|local|internal|home\.arpa|onion|alt)$|(^|\.)example\.(com|net|org)$/;
  return host === "" || reservedNames.test(host);
}

/** A request to this machine itself: the only kind a development runtime may answer. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127\./.test(host);
}

/** At least 10 a day (a tenant must be able to reach its admins), at most a million. */
function parseEmailDailyLimit(value: string | undefined, problems: string[]): number {
  const limit = Number(value);
  if (!/^\d{1,7}$/.test(value ?? "") || limit < 10 || limit > 1_000_000) {
    problems.push("EMAIL_DAILY_LIMIT must be a whole number of emails from 10 to 1000000");
  }
  return limit;
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
