// Backup codes: NIST 800-63B look-up secrets. Shown once, stored only as keyed hashes under a
// pepper held outside the database, so a copy of the database alone reveals none of them.
import { toHex } from "../encoding";
import { hmacSha256 } from "./hmac";

export const BACKUP_CODE_COUNT = 10;
// 8 decimal digits = 26.6 bits, above the 20 bits NIST 800-63B §5.1.2.1 asks of look-up secrets.
export const BACKUP_CODE_DIGITS = 8;

export type MfaCodeKind = "totp" | "backup";

const CODE_SPACE = 10 ** BACKUP_CODE_DIGITS;
// The largest multiple of CODE_SPACE that fits in 32 bits: draws at or above it are redrawn, so
// `% CODE_SPACE` favours no code (modulo bias).
const UNBIASED_LIMIT = Math.floor(2 ** 32 / CODE_SPACE) * CODE_SPACE;

/** BACKUP_CODE_COUNT distinct codes of BACKUP_CODE_DIGITS uniformly random decimal digits. */
export function generateBackupCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(drawCode());
  return [...codes];
}

/** Hex HMAC-SHA-256 of `userId:code` under the pepper: bound to the user, useless without the pepper. */
export async function hashBackupCode(pepper: Uint8Array, userId: string, code: string): Promise<string> {
  return toHex(await hmacSha256(pepper, `${userId}:${code}`));
}

/**
 * Removes the ASCII spaces and dashes people type between digit groups, nothing else. Unicode
 * digits are deliberately not folded: "１２３４５６" stays invalid rather than becoming a second
 * spelling of a code.
 */
export function normalizeMfaCode(input: string): string {
  return input.replace(/[ -]/g, "");
}

/** Tells a TOTP code (6 ASCII digits) from a backup code (8 ASCII digits); anything else is null. */
export function classifyMfaCode(normalized: string): MfaCodeKind | null {
  if (/^[0-9]{6}$/.test(normalized)) return "totp";
  if (/^[0-9]{8}$/.test(normalized)) return "backup";
  return null;
}

function drawCode(): string {
  for (;;) {
    const value = crypto.getRandomValues(new Uint32Array(1))[0] ?? UNBIASED_LIMIT;
    if (value < UNBIASED_LIMIT) return String(value % CODE_SPACE).padStart(BACKUP_CODE_DIGITS, "0");
  }
}
