import { describe, expect, it } from "vitest";
import {
  BACKUP_CODE_COUNT,
  BACKUP_CODE_DIGITS,
  classifyMfaCode,
  generateBackupCodes,
  hashBackupCode,
  normalizeMfaCode,
} from "../../src/auth/backup-codes";

const pepper = crypto.getRandomValues(new Uint8Array(32));

describe("generateBackupCodes", () => {
  it("gives 10 distinct codes of 8 decimal digits", () => {
    expect(BACKUP_CODE_COUNT).toBe(10);
    expect(BACKUP_CODE_DIGITS).toBe(8);
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9]{8}$/);
  });

  it("gives different codes each time", () => {
    expect(generateBackupCodes()).not.toEqual(generateBackupCodes());
  });

  it("uses every digit in every position", () => {
    // 2,000 codes: a position missing a digit has odds of about 10 × 0.9^200 ≈ 7e-9.
    const codes = Array.from({ length: 200 }, generateBackupCodes).flat();
    for (let position = 0; position < BACKUP_CODE_DIGITS; position++) {
      expect(new Set(codes.map((code) => code[position])).size).toBe(10);
    }
  });
});

describe("hashBackupCode", () => {
  it("is deterministic hex of 256 bits", async () => {
    const hash = await hashBackupCode(pepper, "user-1", "12345678");
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashBackupCode(pepper, "user-1", "12345678")).toBe(hash);
  });

  it("differs per code, per user and per pepper", async () => {
    const hash = await hashBackupCode(pepper, "user-1", "12345678");
    const otherPepper = crypto.getRandomValues(new Uint8Array(32));
    expect(await hashBackupCode(pepper, "user-1", "12345679")).not.toBe(hash);
    expect(await hashBackupCode(pepper, "user-2", "12345678")).not.toBe(hash);
    expect(await hashBackupCode(otherPepper, "user-1", "12345678")).not.toBe(hash);
  });

  it("is an HMAC-SHA-256 of userId:code under the pepper", async () => {
    const key = await crypto.subtle.importKey("raw", pepper, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("u:87654321")));
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
    expect(await hashBackupCode(pepper, "u", "87654321")).toBe(hex);
  });
});

describe("normalizeMfaCode and classifyMfaCode", () => {
  it.each([
    ["123456", "123456", "totp"],
    ["123 456", "123456", "totp"],
    ["123-456", "123456", "totp"],
    [" 123 456 ", "123456", "totp"],
    ["12345678", "12345678", "backup"],
    ["1234 5678", "12345678", "backup"],
    ["1234-5678", "12345678", "backup"],
    ["12345", "12345", null],
    ["1234567", "1234567", null],
    ["123456789", "123456789", null],
    ["12345a", "12345a", null],
    ["", "", null],
    ["１２３４５６", "１２３４５６", null], // full-width digits stay invalid
    ["١٢٣٤٥٦", "١٢٣٤٥٦", null], // Arabic-Indic digits too
    ["123\t456", "123\t456", null], // only ASCII spaces and dashes are removed
    ["123\u00a0456", "123\u00a0456", null],
    ["123\u2013456", "123\u2013456", null], // an en dash is not a dash here
  ])("%j normalizes to %j and is %s", (input, normalized, kind) => {
    expect(normalizeMfaCode(input)).toBe(normalized);
    expect(classifyMfaCode(normalizeMfaCode(input))).toBe(kind);
  });
});
