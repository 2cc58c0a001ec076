import { describe, expect, it } from "vitest";
import { openSecret, SecretBoxError, sealSecret } from "../../src/auth/secret-box";
import { generateTotpSecret } from "../../src/auth/totp";
import { encodeBase32, fromBase64Url, toBase64Url, toHex } from "../../src/encoding";

const k1 = crypto.getRandomValues(new Uint8Array(32));
const k2 = crypto.getRandomValues(new Uint8Array(32));
const onlyK1 = { current: "k1", keys: new Map([["k1", k1]]) };
const k2ThenK1 = {
  current: "k2",
  keys: new Map([
    ["k2", k2],
    ["k1", k1],
  ]),
};

describe("secret box", () => {
  it("opens what it sealed", async () => {
    const secret = generateTotpSecret();
    const sealed = await sealSecret(secret, onlyK1, "user-1");
    expect(sealed).toMatch(/^k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(await openSecret(sealed, onlyK1, "user-1")).toEqual(secret);
  });

  it("uses a fresh IV for every seal", async () => {
    const secret = generateTotpSecret();
    const first = await sealSecret(secret, onlyK1, "user-1");
    expect(await sealSecret(secret, onlyK1, "user-1")).not.toBe(first);
  });

  it("refuses to open under another context (a row copied to another user)", async () => {
    const sealed = await sealSecret(generateTotpSecret(), onlyK1, "user-1");
    await expect(openSecret(sealed, onlyK1, "user-2")).rejects.toThrow(SecretBoxError);
  });

  it("refuses a tampered ciphertext or IV", async () => {
    const sealed = await sealSecret(generateTotpSecret(), onlyK1, "user-1");
    const [kid, iv, ciphertext] = sealed.split(".") as [string, string, string];
    const flipped = (encoded: string) => {
      const bytes = fromBase64Url(encoded);
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return toBase64Url(bytes);
    };
    await expect(openSecret(`${kid}.${iv}.${flipped(ciphertext)}`, onlyK1, "user-1")).rejects.toThrow(
      /failed authentication/,
    );
    await expect(openSecret(`${kid}.${flipped(iv)}.${ciphertext}`, onlyK1, "user-1")).rejects.toThrow(
      SecretBoxError,
    );
  });

  it("keeps opening old secrets after a new key is put first, and seals with the new key", async () => {
    const secret = generateTotpSecret();
    const old = await sealSecret(secret, onlyK1, "user-1");
    expect(await openSecret(old, k2ThenK1, "user-1")).toEqual(secret);
    const fresh = await sealSecret(secret, k2ThenK1, "user-1");
    expect(fresh.startsWith("k2.")).toBe(true);
    expect(await openSecret(fresh, k2ThenK1, "user-1")).toEqual(secret);
    await expect(openSecret(fresh, onlyK1, "user-1")).rejects.toThrow(/unknown .*key id "k2"/);
  });

  it("refuses a key id it does not hold, and a key id swapped for another", async () => {
    const sealed = await sealSecret(generateTotpSecret(), onlyK1, "user-1");
    await expect(openSecret(sealed.replace(/^k1\./, "k9."), onlyK1, "user-1")).rejects.toThrow(
      SecretBoxError,
    );
    await expect(openSecret(sealed.replace(/^k1\./, "k2."), k2ThenK1, "user-1")).rejects.toThrow(
      /failed authentication/,
    );
  });

  it("refuses malformed stored values", async () => {
    for (const stored of ["", "k1", "k1.abc", "k1..", "k1.a.b.c", "k1.!!!!.abcd"]) {
      await expect(openSecret(stored, onlyK1, "user-1"), stored).rejects.toThrow(SecretBoxError);
    }
  });

  it("never stores the secret in any readable form", async () => {
    const secret = generateTotpSecret();
    const sealed = await sealSecret(secret, onlyK1, "user-1");
    for (const form of [encodeBase32(secret), toBase64Url(secret), toHex(secret)]) {
      expect(sealed).not.toContain(form);
      expect(sealed.toLowerCase()).not.toContain(form.toLowerCase());
    }
  });
});
