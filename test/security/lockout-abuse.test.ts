// Limits that cannot be turned against users (security.md, attack 24): a shared address or a public
// action is never locked for good by someone else's failures, and a lock on the second factor is
// visible only to a caller who gave the right password.
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import { POLICIES } from "../../src/limiter/policy";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa } from "../helpers/totp";

const randomByte = () => crypto.getRandomValues(new Uint8Array(1))[0] as number;
/** An IPv4 address no other test uses (198.18.0.0/15 is set aside for tests). */
const freshIpv4 = () => `198.${18 + (randomByte() & 1)}.${randomByte()}.${randomByte()}`;
const from = (ip: string) => ({ "cf-connecting-ip": ip });

const DAY_MS = 24 * 60 * 60 * 1000;
const YEAR_MS = 365 * DAY_MS;

describe("an address shared by many people (NAT, VPN, an IPv6 /64)", () => {
  it("signs in again once its lock is over, even after 100 wrong passwords from it", async () => {
    const { tenantId } = await createTenant();
    const owner = await addUser(tenantId);
    const office = freshIpv4();
    for (let i = 0; i < POLICIES.address.limit; i++) {
      const stranger = { username: `someone-${i}`, password: "wrong password", tenantId };
      expectError(await login(stranger, {}, from(office)), 401, "invalid_credentials");
    }
    const locked = await login(owner, {}, from(office));
    expectError(locked, 429, "too_many_attempts");
    // Bounded: at most a day, never the "forever" of the per-account second-factor cap.
    expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(DAY_MS / 1000);
    advanceClock(YEAR_MS);
    expect((await login(owner, {}, from(office))).status).toBe(200);
  }, 60_000); // a hundred password hashes
});

describe("the tenant's reminder budget", () => {
  it("works again the next day, however many days it was used up", async () => {
    const { tenantId, admin } = await createTenant();
    const remind = async () =>
      call("POST", `/api/v1/tenants/${tenantId}/mfa/reminders`, { token: await sessionToken(admin) });
    // 35 days of three clicks each: past the 100 uses that once locked the budget for good.
    for (let day = 0; day < 35; day++) {
      for (let click = 0; click < POLICIES.reminders.limit; click++)
        expect((await remind()).status).toBe(202);
      const refused = await remind();
      expectError(refused, 429, "too_many_attempts");
      expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(DAY_MS / 1000);
      advanceClock(DAY_MS);
    }
    expect((await remind()).status).toBe(202);
  }, 60_000);
});

describe("a locked second factor", () => {
  it("is shown only to a caller with the right password; others get the unknown-user answer", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const owner = freshIpv4();
    for (let i = 0; i < POLICIES.mfa.limit; i++) {
      expectError(await login(user, { mfa_code: "000000" }, from(owner)), 401, "invalid_mfa_code");
    }
    expectError(await login(user, { mfa_code: "000000" }, from(owner)), 429, "too_many_attempts");

    const stranger = freshIpv4();
    const wrongPassword = await login({ ...user, password: "not the password" }, {}, from(stranger));
    const unknownUser = await login({ ...user, username: "nobody-here" }, {}, from(stranger));
    expectError(wrongPassword, 401, "invalid_credentials");
    expect(wrongPassword.json).toEqual(unknownUser.json);
    expect(wrongPassword.headers.get("retry-after")).toBeNull();
    // The right password is told to wait, since only its holder can tell a lock from a wrong code.
    expectError(await login(user, {}, from(stranger)), 429, "too_many_attempts");
  });
});
