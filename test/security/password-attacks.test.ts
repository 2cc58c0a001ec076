// Guessing passwords (security.md, "Attempts and lockout"): a budget per account and address, so a
// guesser cannot lock the owner out from everywhere, and one per address across all accounts.
// Every test uses addresses of its own, since address counters outlive a test.
import { describe, expect, it } from "vitest";
import { addressKey } from "../../src/limiter/limits";
import { POLICIES } from "../../src/limiter/policy";
import { addUser, createTenant } from "../helpers/factory";
import { expectError, login } from "../helpers/http";

const randomByte = () => crypto.getRandomValues(new Uint8Array(1))[0] as number;
/** An IPv4 address no other test uses (198.18.0.0/15 is set aside for tests). */
const freshIpv4 = () => `198.${18 + (randomByte() & 1)}.${randomByte()}.${randomByte()}`;
/** The first four groups of an IPv6 /64 no other test uses. */
const freshPrefix = () =>
  `2001:db8:${randomByte().toString(16)}${randomByte().toString(16)}:${randomByte().toString(16)}`;

const from = (ip: string) => ({ "cf-connecting-ip": ip });

describe("wrong passwords", () => {
  it("lock an account for the guessing address only: its owner still signs in from elsewhere", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const guesser = freshIpv4();
    for (let i = 0; i < POLICIES.password.limit; i++) {
      expectError(
        await login({ ...user, password: `guess ${i}` }, {}, from(guesser)),
        401,
        "invalid_credentials",
      );
    }
    const locked = await login(user, {}, from(guesser));
    expectError(locked, 429, "too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBe(POLICIES.password.baseLockMs / 1000);
    expect((await login(user, {}, from(freshIpv4()))).status).toBe(200);
  });

  it("count a whole IPv6 /64 as one address, however its addresses are written", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const prefix = freshPrefix();
    const spellings = (i: number) =>
      [`${prefix}::${i + 1}`, `${prefix}:0:0:0:${i + 1}`, `${prefix.toUpperCase()}:ab:cd:ef:${i + 1}`][i % 3];
    for (let i = 0; i < POLICIES.password.limit; i++) {
      const ip = spellings(i) as string;
      expectError(await login({ ...user, password: `guess ${i}` }, {}, from(ip)), 401, "invalid_credentials");
    }
    expectError(await login(user, {}, from(`${prefix}:ffff:ffff:ffff:ffff`)), 429, "too_many_attempts");
    // The next /64 over is someone else.
    expect((await login(user, {}, from(`${freshPrefix()}::1`))).status).toBe(200);
  });

  it("lock an address that guesses across many accounts, for every account", async () => {
    const { tenantId } = await createTenant();
    const guesser = freshIpv4();
    const perAccount = POLICIES.password.limit;
    const accounts = POLICIES.address.limit / perAccount;
    for (let a = 0; a < accounts; a++) {
      // Unknown usernames spend the address's budget exactly like real ones.
      const target = { username: `victim-${a}`, password: "guess", tenantId };
      for (let i = 0; i < perAccount; i++) {
        expectError(
          await login({ ...target, password: `guess ${i}` }, {}, from(guesser)),
          401,
          "invalid_credentials",
        );
      }
    }
    const owner = await addUser(tenantId);
    expectError(await login(owner, {}, from(guesser)), 429, "too_many_attempts");
    expect((await login(owner, {}, from(freshIpv4()))).status).toBe(200);
  }, 60_000); // a hundred password hashes
});

describe("addressKey", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:0003:0004:0005:0006", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["2001:db8:1:2:3::", "2001:db8:1:2::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
  ])("keys %s as %s", (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });
});
