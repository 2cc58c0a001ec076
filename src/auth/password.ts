// Password hashing: PBKDF2-HMAC-SHA256 through WebCrypto, with a pepper held as a Worker secret.
//
// Why 100,000 iterations and not OWASP's 600,000: Cloudflare's production runtime refuses more
// (workerd limit-enforcer.h, DEFAULT_MAX_PBKDF2_ITERATIONS), while wrangler dev and the tests do not,
// so a higher count would pass every local test and fail every real login. What offsets it: the
// pepper (a stolen database alone cannot be attacked offline), attempt limits per account and IP,
// and MFA. The stored format names its parameters so the count can be raised with rehash-on-login.
import { fromBase64, randomBytes, timingSafeEqual, toBase64 } from "../encoding";
import { hmacSha256 } from "./hmac";

export const PBKDF2_ITERATIONS = 100_000;
/** The most the production runtime accepts; a stored hash above it can never verify there. */
export const MAX_PBKDF2_ITERATIONS = 100_000;
export const PASSWORD_MIN_LENGTH = 8; // NIST 800-63B §5.1.1.2
export const PASSWORD_MAX_LENGTH = 128; // long enough for passphrases, never truncated

const SCHEME = "pbkdf2-sha256";
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export class InvalidPasswordHashError extends Error {}

/**
 * Returns the stored form `pbkdf2-sha256$100000$<salt>$<hash>` (base64). `iterations` is for the
 * bench only, which measures with a cheaper hash too; the service always hashes with PBKDF2_ITERATIONS.
 */
export async function hashPassword(
  password: string,
  pepper: Uint8Array,
  iterations = PBKDF2_ITERATIONS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, pepper, salt, iterations);
  return [SCHEME, iterations, toBase64(salt), toBase64(hash)].join("$");
}

/**
 * Checks a password against a stored hash. A stored hash that is malformed or whose iteration count
 * is 0 or above the runtime's cap is refused before anything is derived.
 */
export async function verifyPasswordHash(
  password: string,
  stored: string,
  pepper: Uint8Array,
): Promise<boolean> {
  const { iterations, salt, hash } = parseStoredHash(stored);
  const candidate = await derive(password, pepper, salt, iterations);
  return timingSafeEqual(candidate, hash);
}

function parseStoredHash(stored: string): { iterations: number; salt: Uint8Array; hash: Uint8Array } {
  const [scheme, count, salt, hash, ...rest] = stored.split("$");
  const iterations = Number(count);
  if (scheme !== SCHEME || rest.length > 0 || !salt || !hash || !/^\d{1,9}$/.test(count ?? "")) {
    throw new InvalidPasswordHashError("stored password hash is malformed");
  }
  if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new InvalidPasswordHashError(`stored password hash has ${iterations} iterations`);
  }
  try {
    return { iterations, salt: fromBase64(salt), hash: fromBase64(hash) };
  } catch {
    throw new InvalidPasswordHashError("stored password hash is not base64");
  }
}

async function derive(password: string, pepper: Uint8Array, salt: Uint8Array, iterations: number) {
  // The pepper keys an HMAC of the password; PBKDF2 then stretches that. Without the pepper, a copy
  // of the database gives an attacker nothing to guess against.
  const peppered = await hmacSha256(pepper, password);
  const material = await crypto.subtle.importKey("raw", peppered, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/**
 * A well-formed hash of no real password. Logins for unknown users or tenants verify against it,
 * so their status, body and timing match a wrong password.
 */
export const DUMMY_PASSWORD_HASH = `${SCHEME}$${PBKDF2_ITERATIONS}$${toBase64(new Uint8Array(SALT_BYTES))}$${toBase64(new Uint8Array(HASH_BYTES))}`;

/**
 * Verifies the password against the user's hash, or against a dummy hash when there is no such user,
 * so unknown users and tenants cost the same time as a wrong password.
 */
export async function checkPassword(
  password: string,
  stored: string | undefined,
  pepper: Uint8Array,
): Promise<boolean> {
  try {
    const ok = await verifyPasswordHash(password, stored ?? DUMMY_PASSWORD_HASH, pepper);
    return ok && stored !== undefined;
  } catch (error) {
    if (!(error instanceof InvalidPasswordHashError)) throw error;
    // A stored hash we refuse to use: nobody signs in with it. Spend the same time anyway.
    console.error("refused a stored password hash:", error.message);
    await verifyPasswordHash(password, DUMMY_PASSWORD_HASH, pepper);
    return false;
  }
}
