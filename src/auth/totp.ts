// One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), computed with WebCrypto HMAC.
// Only the server clock counts (ASVS 5 6.5.8): callers pass `now()` from src/clock.ts.
import { encodeBase32, randomBytes, timingSafeEqual } from "../encoding";

export type HotpAlgorithm = "SHA-1" | "SHA-256" | "SHA-512";

export const TOTP_PERIOD_SECONDS = 30; // RFC 6238 §5.2: the recommended time step X
export const TOTP_DIGITS = 6; // RFC 4226 §5.3: at least 6 digits
export const TOTP_WINDOW = 1; // RFC 6238 §5.2: at most one step of drift either way
export const TOTP_SECRET_BYTES = 20; // RFC 4226 §4 R6: 160-bit shared secrets

// RFC 4226 §5.3 allows 6, 7 or 8 digits; more would exceed the 31 bits that truncation yields.
const MIN_DIGITS = 6;
const MAX_DIGITS = 8;
const TOTP_CODE_PATTERN = /^[0-9]{6}$/; // ASCII only: no Unicode digits

/** The HOTP value for `counter` (RFC 4226 §5.3), as a zero-padded decimal string. */
export async function generateHotp(
  secret: Uint8Array,
  counter: number,
  options: { algorithm?: HotpAlgorithm; digits?: number } = {},
): Promise<string> {
  const key = await importHmacKey(secret, options.algorithm ?? "SHA-1");
  // Awaited, not returned: a bad counter or digit count rejects computeHotp's promise before anyone
  // listens to it, and workerd would report that as an unhandled rejection.
  return await computeHotp(key, counter, options.digits ?? TOTP_DIGITS);
}

/** The RFC 6238 time step T for a Unix time in milliseconds, with T0 = 0. */
export function totpStep(timeMs: number): number {
  return Math.floor(timeMs / (TOTP_PERIOD_SECONDS * 1000));
}

/**
 * Returns the time step that `code` matches within ±TOTP_WINDOW of `nowMs`, or null. A step at or
 * before `lastStep` is refused, so a code is accepted at most once (RFC 6238 §5.2); the caller must
 * still claim the returned step with a conditional write, since two requests can race to here.
 */
export async function findTotpStep(
  secret: Uint8Array,
  code: string,
  nowMs: number,
  lastStep: number,
): Promise<number | null> {
  if (!TOTP_CODE_PATTERN.test(code)) return null;
  const key = await importHmacKey(secret, "SHA-1");
  const submitted = new TextEncoder().encode(code);
  const current = totpStep(nowMs);
  let matched: number | null = null;
  // Every candidate is computed and compared in constant time, whichever one matches.
  for (let step = Math.max(0, current - TOTP_WINDOW); step <= current + TOTP_WINDOW; step++) {
    const expected = new TextEncoder().encode(await computeHotp(key, step, TOTP_DIGITS));
    const isMatch = timingSafeEqual(expected, submitted);
    if (isMatch && step > lastStep && matched === null) matched = step;
  }
  return matched;
}

/** A fresh 160-bit TOTP secret (RFC 4226 §4 R6). */
export function generateTotpSecret(): Uint8Array {
  return randomBytes(TOTP_SECRET_BYTES);
}

/**
 * The provisioning URI authenticator apps read from the QR code (Google Authenticator's Key Uri
 * Format). Issuer and account are percent-encoded, so a ":" inside either cannot split the label.
 */
export function buildOtpauthUri({
  issuer,
  accountName,
  secret,
}: {
  issuer: string;
  accountName: string;
  secret: Uint8Array;
}): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const parameters = [
    `secret=${encodeBase32(secret)}`,
    `issuer=${encodeURIComponent(issuer)}`,
    "algorithm=SHA1",
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_SECONDS}`,
  ];
  return `otpauth://totp/${label}?${parameters.join("&")}`;
}

async function computeHotp(key: CryptoKey, counter: number, digits: number): Promise<string> {
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(`HOTP digits must be ${MIN_DIGITS}..${MAX_DIGITS}, got ${digits}`);
  }
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encodeCounter(counter)));
  return String(truncate(mac) % 10 ** digits).padStart(digits, "0");
}

/** The counter as the 8-byte big-endian moving factor of RFC 4226 §5.2. */
function encodeCounter(counter: number): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(`HOTP counter must be a non-negative safe integer, got ${counter}`);
  }
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  // Split by arithmetic: bitwise operators would cut the counter to 32 bits (RFC 6238 needs more
  // from the year 2038 on, e.g. the t = 20000000000 vector).
  view.setUint32(0, Math.floor(counter / 2 ** 32));
  view.setUint32(4, counter % 2 ** 32);
  return bytes;
}

/** Dynamic truncation (RFC 4226 §5.3): 31 bits read at the offset named by the last nibble. */
function truncate(mac: Uint8Array): number {
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  return new DataView(mac.buffer, mac.byteOffset).getUint32(offset) & 0x7fffffff;
}

function importHmacKey(secret: Uint8Array, algorithm: HotpAlgorithm): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: algorithm }, false, ["sign"]);
}
