// The second sign-in step without the password: an mfa_token from the first step stands for the
// password that was right, for five minutes, for one user of one tenant, once.
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import { POLICIES } from "../../src/limiter/policy";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login } from "../helpers/http";
import { type EnrolledUser, enrollMfa, nextStep, totpCode } from "../helpers/totp";

async function enrolledUser(tenantId?: string) {
  return enrollMfa(await addUser(tenantId ?? (await createTenant()).tenantId));
}

/** The first step: the password, answered with mfa_required and a token. */
async function firstStep(user: EnrolledUser): Promise<string> {
  const response = await login(user);
  expect(response.status).toBe(200);
  expect(response.json).toMatchObject({ mfa_required: true, mfa_token: expect.any(String) });
  expect(response.json.token).toBeUndefined();
  return response.json.mfa_token;
}

function secondStep(user: { username: string; tenantId: string }, mfaToken: string, code: string) {
  return call("POST", "/api/v1/auth/login", {
    body: { tenant_id: user.tenantId, username: user.username, mfa_token: mfaToken, mfa_code: code },
  });
}

describe("mfa_token", () => {
  it("lets the second step send the code without the password", async () => {
    const user = await enrolledUser();
    const response = await secondStep(user, await firstStep(user), await totpCode(user.secret));
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ token: expect.any(String), user: { id: user.user.id } });
    expect((await call("GET", "/api/v1/auth/me", { token: response.json.token })).status).toBe(200);
  });

  it("is spent on success: the same token again is refused, even with a fresh code", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    expect((await secondStep(user, token, await totpCode(user.secret))).status).toBe(200);
    nextStep();
    expectError(await secondStep(user, token, await totpCode(user.secret)), 401, "invalid_mfa_token");
  });

  it("expires after five minutes", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    advanceClock(5 * 60_000 + 1000);
    expectError(await secondStep(user, token, await totpCode(user.secret)), 401, "invalid_mfa_token");
  });

  it("is bound to its user and its tenant", async () => {
    const user = await enrolledUser();
    const colleague = await enrolledUser(user.tenantId);
    const stranger = await enrolledUser();
    const token = await firstStep(user);
    expectError(
      await secondStep(colleague, token, await totpCode(colleague.secret)),
      401,
      "invalid_mfa_token",
    );
    expectError(
      await secondStep({ ...user, tenantId: stranger.tenantId }, token, await totpCode(user.secret)),
      401,
      "invalid_mfa_token",
    );
    // Still good for its own user afterwards: refusing it elsewhere spent nothing.
    expect((await secondStep(user, token, await totpCode(user.secret))).status).toBe(200);
  });

  it("is refused everywhere but the second step", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    for (const [method, path, body] of [
      ["GET", "/api/v1/auth/me", undefined],
      ["GET", "/api/v1/mfa/status", undefined],
      ["POST", "/api/v1/mfa/setup", {}],
      ["POST", "/api/v1/mfa/verify", { code: "123456" }],
      ["POST", "/api/v1/auth/logout", undefined],
      ["POST", "/api/v1/auth/reauthenticate", { password: user.password }],
    ] as const) {
      const response = await call(method, path, { token, ...(body ? { body } : {}) });
      expectError(response, 401, "unauthorized");
    }
    // A session token or an enrollment token is no mfa_token either.
    const session = (await login(user, { mfa_code: await totpCode(user.secret) })).json.token;
    nextStep();
    expectError(await secondStep(user, session, await totpCode(user.secret)), 401, "invalid_mfa_token");
  });

  it("counts wrong codes against the account's budget, shared with the password re-post", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    for (let i = 0; i < POLICIES.mfa.limit; i++) {
      expectError(await secondStep(user, token, "000000"), 401, "invalid_mfa_code");
    }
    expectError(await secondStep(user, token, await totpCode(user.secret)), 429, "too_many_attempts");
    expectError(await login(user, { mfa_code: await totpCode(user.secret) }), 429, "too_many_attempts");
  });

  it("leaves the documented re-post with the password working as before", async () => {
    const user = await enrolledUser();
    await firstStep(user);
    const response = await login(user, { mfa_code: await totpCode(user.secret) });
    expect(response.status).toBe(200);
    expect(response.json.token).toBeTypeOf("string");
  });

  it("takes the password or the token, never both and never neither", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    const code = await totpCode(user.secret);
    const both = {
      tenant_id: user.tenantId,
      username: user.username,
      password: user.password,
      mfa_token: token,
      mfa_code: code,
    };
    expectError(await call("POST", "/api/v1/auth/login", { body: both }), 400, "invalid_request");
    const neither = { tenant_id: user.tenantId, username: user.username, mfa_code: code };
    expectError(await call("POST", "/api/v1/auth/login", { body: neither }), 400, "invalid_request");
    const noCode = { tenant_id: user.tenantId, username: user.username, mfa_token: token };
    expectError(await call("POST", "/api/v1/auth/login", { body: noCode }), 400, "invalid_request");
  });

  it("opens exactly one session when two second steps race with one token and two good codes", async () => {
    const user = await enrolledUser();
    const token = await firstStep(user);
    const answers = await Promise.all([
      secondStep(user, token, await totpCode(user.secret)),
      secondStep(user, token, user.backupCodes[0] as string),
    ]);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
  });
});
