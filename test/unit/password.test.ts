import { describe, expect, it, vi } from "vitest";
import {
  DUMMY_PASSWORD_HASH,
  hashPassword,
  InvalidPasswordHashError,
  MAX_PBKDF2_ITERATIONS,
  PBKDF2_ITERATIONS,
  verifyPasswordHash,
} from "../../src/auth/password";

const pepper = crypto.getRandomValues(new Uint8Array(32));

describe("password hashing", () => {
  it("uses exactly the 100,000 iterations Cloudflare's production runtime allows", async () => {
    // workerd's limit-enforcer refuses more in production while local runtimes accept any count.
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(MAX_PBKDF2_ITERATIONS).toBe(100_000);
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    const stored = await hashPassword("correct horse battery", pepper);
    expect(deriveBits).toHaveBeenCalledWith(
      expect.objectContaining({ name: "PBKDF2", hash: "SHA-256", iterations: 100_000 }),
      expect.anything(),
      256,
    );
    deriveBits.mockRestore();
    expect(stored).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const stored = await hashPassword("correct horse battery", pepper);
    expect(await verifyPasswordHash("correct horse battery", stored, pepper)).toBe(true);
    expect(await verifyPasswordHash("correct horse batterY", stored, pepper)).toBe(false);
  });

  it("salts every hash", async () => {
    const a = await hashPassword("same password", pepper);
    const b = await hashPassword("same password", pepper);
    expect(a).not.toBe(b);
  });

  it("depends on the pepper: the database alone is not enough to check a guess", async () => {
    const stored = await hashPassword("correct horse battery", pepper);
    const otherPepper = crypto.getRandomValues(new Uint8Array(32));
    expect(await verifyPasswordHash("correct horse battery", stored, otherPepper)).toBe(false);
  });

  it("never truncates: a long password differs from its prefix", async () => {
    const long = "x".repeat(128);
    const stored = await hashPassword(long, pepper);
    expect(await verifyPasswordHash(long.slice(0, 72), stored, pepper)).toBe(false);
    expect(await verifyPasswordHash(long, stored, pepper)).toBe(true);
  });

  it.each([
    ["0 iterations", "pbkdf2-sha256$0$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"],
    ["over the cap", "pbkdf2-sha256$100001$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"],
    ["far over the cap", "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"],
    ["negative", "pbkdf2-sha256$-1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"],
    ["another scheme", "bcrypt$10$AAAA$AAAA"],
    ["missing parts", "pbkdf2-sha256$100000"],
    ["extra parts", "pbkdf2-sha256$100000$AAAA$AAAA$AAAA"],
  ])("refuses a stored hash with %s before deriving anything", async (_label, stored) => {
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    await expect(verifyPasswordHash("whatever password", stored, pepper)).rejects.toBeInstanceOf(
      InvalidPasswordHashError,
    );
    expect(deriveBits).not.toHaveBeenCalled();
    deriveBits.mockRestore();
  });

  it("has a dummy hash that is well-formed and matches nothing", async () => {
    expect(await verifyPasswordHash("", DUMMY_PASSWORD_HASH, pepper)).toBe(false);
    expect(await verifyPasswordHash("password", DUMMY_PASSWORD_HASH, pepper)).toBe(false);
  });
});
