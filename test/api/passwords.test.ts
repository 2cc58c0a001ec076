// Passwords over an account's life: changing one, forgetting one, and an admin sending a reset link.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock } from "../../src/clock";
import { POLICIES } from "../../src/limiter/policy";
import type { QueueJob } from "../../src/reminders/jobs";
import { addUser, createTenant, type TestUser } from "../helpers/factory";
import { call, callRecordingEmail, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa, nextStep, totpCode } from "../helpers/totp";

const STRONG = "correct horse battery staple";

function changePassword(token: string, body: Record<string, unknown>) {
  return call("POST", "/api/v1/auth/password", { token, body });
}

function forgot(user: Pick<TestUser, "tenantId" | "username">, headers?: Record<string, string>) {
  return callRecordingEmail("POST", "/api/v1/auth/password/forgot", {
    body: { tenant_id: user.tenantId, username: user.username },
    ...(headers ? { headers } : {}),
  });
}

/** The token of the reset link a queued email carries. */
function resetToken(sent: QueueJob[]): string {
  const job = sent.find((j) => j.kind === "password_reset");
  if (job?.kind !== "password_reset") throw new Error(`no reset link among ${JSON.stringify(sent)}`);
  return job.token;
}

function reset(token: string, newPassword = STRONG) {
  return callRecordingEmail("POST", "/api/v1/auth/password/reset", {
    body: { token, new_password: newPassword },
  });
}

async function auditActions(tenantId: string, targetId: string) {
  const { results } = await env.DB.prepare(
    "select action, actor_id from audit_events where tenant_id = ? and target_id = ? order by at, rowid",
  )
    .bind(tenantId, targetId)
    .all<{ action: string; actor_id: string | null }>();
  return results;
}

describe("changing a password", () => {
  it("refuses the old password afterwards and ends every other session, not this one", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const current = await sessionToken(user);
    const other = await sessionToken(user);
    const response = await callRecordingEmail("POST", "/api/v1/auth/password", {
      token: current,
      body: { current_password: user.password, new_password: STRONG },
    });
    expect(response.status).toBe(204);
    expectError(await login(user), 401, "invalid_credentials");
    expect((await login({ ...user, password: STRONG })).status).toBe(200);
    expect((await call("GET", "/api/v1/auth/me", { token: current })).status).toBe(200);
    expectError(await call("GET", "/api/v1/auth/me", { token: other }), 401, "unauthorized");
    expect(response.sent).toEqual([
      expect.objectContaining({ kind: "security", event: "password_changed", userId: user.user.id }),
    ]);
    expect(await auditActions(tenantId, user.user.id)).toContainEqual({
      action: "user.password_changed",
      actor_id: user.user.id,
    });
  });

  it("refuses a wrong current password, counted like a sign-in", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = await sessionToken(user);
    for (let i = 0; i < POLICIES.password.limit; i++) {
      const wrong = await changePassword(token, { current_password: "not it", new_password: STRONG });
      expectError(wrong, 401, "invalid_password");
    }
    const locked = await changePassword(token, { current_password: user.password, new_password: STRONG });
    expectError(locked, 429, "too_many_attempts");
    expect((await login(user)).status).toBe(429); // the same budget as signing in from this address
  });

  it("refuses a common password, and one made of the username or the organisation's name", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "marguerite" });
    const token = await sessionToken(user);
    for (const newPassword of ["password1", "Iloveyou123", "QWERTYUIOP", "marguerite2024", `${tenantId}!!`]) {
      const refused = await changePassword(token, {
        current_password: user.password,
        new_password: newPassword,
      });
      expectError(refused, 400, "weak_password");
      expect(refused.json.error.details).toEqual([{ path: "new_password", message: expect.any(String) }]);
    }
    expect((await login(user)).status).toBe(200); // nothing changed
  });

  it("needs a current code when MFA is on, and the code is spent by the change", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const body = { current_password: user.password, new_password: STRONG };
    expectError(await changePassword(user.token, body), 401, "invalid_mfa_code");
    expectError(await changePassword(user.token, { ...body, code: "000000" }), 401, "invalid_mfa_code");
    const code = await totpCode(user.secret);
    expect((await changePassword(user.token, { ...body, code })).status).toBe(204);
    // The same code again, now with the new password: refused as a replay.
    const replay = await changePassword(user.token, {
      current_password: STRONG,
      new_password: `${STRONG}!`,
      code,
    });
    expectError(replay, 401, "invalid_mfa_code");
  });

  it("ends a second step still pending from the old password", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const pending = (await login(user)).json.mfa_token as string;
    const code = await totpCode(user.secret);
    expect(
      (await changePassword(user.token, { current_password: user.password, new_password: STRONG, code }))
        .status,
    ).toBe(204);
    nextStep();
    const second = await login(
      { ...user, password: "" },
      { password: undefined, mfa_token: pending, mfa_code: await totpCode(user.secret) },
    );
    expectError(second, 401, "invalid_mfa_token");
  });
});

describe("forgotten password", () => {
  it("answers the same for an account, an unknown name and an unknown tenant; only the account gets a link", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const known = await forgot(user);
    const unknownName = await forgot({ tenantId, username: "nobody-here" });
    const unknownTenant = await forgot({ tenantId: "no-such-tenant", username: user.username });
    for (const answer of [known, unknownName, unknownTenant]) {
      expect(answer.status).toBe(202);
      expect(answer.text).toBe("");
    }
    expect(unknownName.sent).toEqual([]);
    expect(unknownTenant.sent).toEqual([]);
    expect(known.sent).toEqual([
      expect.objectContaining({
        kind: "password_reset",
        userId: user.user.id,
        to: user.user.email,
        by: "self",
      }),
    ]);
    // Only the token's hash is stored.
    const token = resetToken(known.sent);
    const stored = await env.DB.prepare("select token_hash from password_resets where user_id = ?")
      .bind(user.user.id)
      .first<{ token_hash: string }>();
    expect(stored?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.token_hash).not.toContain(token);
  });

  it("sends at most three links an hour per account, answering as always; an address that keeps asking gets 429", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const from = { "cf-connecting-ip": "203.0.113.77" };
    const answers = [];
    for (let i = 0; i < POLICIES.resetLinksPerAccount.limit + 2; i++) answers.push(await forgot(user, from));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(answers.flatMap((a) => a.sent)).toHaveLength(POLICIES.resetLinksPerAccount.limit);
    for (let i = answers.length; i < POLICIES.resetLinksPerAddress.limit; i++) {
      expect((await forgot({ tenantId, username: `someone-${i}` }, from)).status).toBe(202);
    }
    const refused = await forgot({ tenantId, username: "one-more" }, from);
    expect(refused.status).toBe(429);
    expect((await forgot(user, { "cf-connecting-ip": "203.0.113.78" })).status).toBe(202); // other addresses
  });

  it("sends nothing to a deactivated account", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    const adminToken = await sessionToken(admin);
    await call("PATCH", `/api/v1/tenants/${tenantId}/users/${user.user.id}`, {
      token: adminToken,
      body: { active: false },
    });
    const answer = await forgot(user);
    expect(answer.status).toBe(202);
    expect(answer.sent).toEqual([]);
  });
});

describe("resetting a password through the link", () => {
  it("sets the password once, ends every session, opens none, and emails the user", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const session = await sessionToken(user);
    const token = resetToken((await forgot(user)).sent);
    const done = await reset(token);
    expect(done.status).toBe(204);
    expect(done.text).toBe(""); // no session, no token
    expect(done.sent).toEqual([expect.objectContaining({ kind: "security", event: "password_reset" })]);
    expectError(await call("GET", "/api/v1/auth/me", { token: session }), 401, "unauthorized");
    expectError(await login(user), 401, "invalid_credentials");
    expect((await login({ ...user, password: STRONG })).status).toBe(200);
    const again = await reset(token, `${STRONG} again`);
    expect(again.status).toBe(400);
    expect(JSON.parse(again.text).error.code).toBe("invalid_reset_token");
    expect(await auditActions(tenantId, user.user.id)).toEqual(
      expect.arrayContaining([
        { action: "user.password_reset_requested", actor_id: null },
        { action: "user.password_reset", actor_id: user.user.id },
      ]),
    );
  });

  it("still asks an MFA user for the code at the next sign-in", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    expect((await reset(resetToken((await forgot(user)).sent))).status).toBe(204);
    const signIn = await login({ ...user, password: STRONG });
    expect(signIn.status).toBe(200);
    expect(signIn.json).toMatchObject({ mfa_required: true });
    expect(signIn.json.token).toBeUndefined();
    const second = await login({ ...user, password: STRONG }, { mfa_code: await totpCode(user.secret) });
    expect(second.json.token).toBeTypeOf("string");
  });

  it("refuses an expired link, a changed one, and one whose account changed its password since", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const expired = resetToken((await forgot(user)).sent);
    advanceClock(31 * 60 * 1000);
    const late = await reset(expired);
    expect(JSON.parse(late.text).error.code).toBe("invalid_reset_token");
    const fresh = resetToken((await forgot(user)).sent);
    const tampered = await reset(`${fresh.slice(0, -2)}xx`);
    expect(JSON.parse(tampered.text).error.code).toBe("invalid_reset_token");
    const token = await sessionToken(user);
    expect(
      (await changePassword(token, { current_password: user.password, new_password: STRONG })).status,
    ).toBe(204);
    const afterChange = await reset(fresh, `${STRONG} later`);
    expect(JSON.parse(afterChange.text).error.code).toBe("invalid_reset_token");
    expect((await login({ ...user, password: STRONG })).status).toBe(200);
  });

  it("resets only the account of the tenant that issued the link", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const inA = await addUser(a.tenantId, { username: "sam" });
    const inB = await addUser(b.tenantId, { username: "sam" });
    expect((await reset(resetToken((await forgot(inA)).sent))).status).toBe(204);
    expect((await login({ ...inA, password: STRONG })).status).toBe(200);
    expect((await login(inB)).status).toBe(200); // untouched
    expectError(await login({ ...inB, password: STRONG }), 401, "invalid_credentials");
  });

  it("refuses a common password and keeps the link for a better one", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const token = resetToken((await forgot(user)).sent);
    const weak = await reset(token, "password123");
    expect(JSON.parse(weak.text).error.code).toBe("weak_password");
    expect((await reset(token)).status).toBe(204);
  });
});

describe("an admin sending a reset link", () => {
  it("emails the user a link the admin never sees", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    const sent = await callRecordingEmail(
      "POST",
      `/api/v1/tenants/${tenantId}/users/${user.user.id}/password-reset`,
      {
        token: await sessionToken(admin),
      },
    );
    expect(sent.status).toBe(202);
    expect(sent.text).toBe("");
    expect(sent.sent).toEqual([
      expect.objectContaining({ kind: "password_reset", by: "admin", to: user.user.email }),
    ]);
    expect((await reset(resetToken(sent.sent))).status).toBe(204);
    expect(await auditActions(tenantId, user.user.id)).toContainEqual({
      action: "user.password_reset_sent",
      actor_id: admin.user.id,
    });
  });

  it("still works for an admin after strangers spent the account's forgot-password budget", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    for (let i = 0; i < POLICIES.resetLinksPerAccount.limit + 1; i++) {
      expect((await forgot(user, { "cf-connecting-ip": `203.0.113.${90 + i}` })).status).toBe(202);
    }
    const path = `/api/v1/tenants/${tenantId}/users/${user.user.id}/password-reset`;
    const token = await sessionToken(admin);
    const sent = await callRecordingEmail("POST", path, { token });
    expect(sent.status).toBe(202);
    expect(sent.sent).toEqual([expect.objectContaining({ kind: "password_reset", by: "admin" })]);
    // The admin's own budget still bounds what they can send to one inbox.
    for (let i = 1; i < POLICIES.resetLinksPerAccount.limit; i++) {
      expect((await callRecordingEmail("POST", path, { token })).status).toBe(202);
    }
    expect((await callRecordingEmail("POST", path, { token })).status).toBe(429);
  });

  it("is refused to a member and across tenants", async () => {
    const { tenantId } = await createTenant();
    const member = await addUser(tenantId);
    const user = await addUser(tenantId);
    const other = await createTenant();
    const path = `/api/v1/tenants/${tenantId}/users/${user.user.id}/password-reset`;
    expectError(await call("POST", path, { token: await sessionToken(member) }), 403, "forbidden");
    const otherAdmin = await sessionToken(other.admin);
    expectError(await call("POST", path, { token: otherAdmin }), 403, "forbidden");
    const crossed = `/api/v1/tenants/${other.tenantId}/users/${user.user.id}/password-reset`;
    expectError(await call("POST", crossed, { token: otherAdmin }), 404, "not_found");
  });
});
