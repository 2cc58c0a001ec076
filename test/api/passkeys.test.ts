import { describe, expect, it } from "vitest";
import { listPasskeys } from "../../src/auth/passkeys";
import {
  passkeyLoginBody,
  registerPasskey,
  SoftAuthenticator,
  secondStepAssertion,
} from "../helpers/authenticator";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, callRecordingEmail, expectError, login, sessionToken } from "../helpers/http";
import { enrollMfa, nextStep, totpCode } from "../helpers/totp";

async function newUser() {
  const { tenantId, admin } = await createTenant();
  return { user: await addUser(tenantId, { username: "pat" }), admin, tenantId };
}

describe("registering a passkey", () => {
  it("as the first factor turns MFA on and returns backup codes once", async () => {
    const { user } = await newUser();
    const token = await sessionToken(user);
    const { added } = await registerPasskey(token, { name: "Work laptop" });
    expect(added.status).toBe(201);
    expect(added.json.passkey).toMatchObject({
      name: "Work laptop",
      last_used_at: null,
      backup_eligible: false,
    });
    expect(added.json.backup_codes).toHaveLength(10);

    const status = await call("GET", "/api/v1/mfa/status", { token });
    expect(status.json.mfa_enabled).toBe(true);
    expect(status.json.backup_codes_remaining).toBe(10);
    const list = await call("GET", "/api/v1/mfa/passkeys", { token });
    expect(list.json.passkeys.map((p: { name: string }) => p.name)).toEqual(["Work laptop"]);
  });

  it("beside TOTP adds a factor without new backup codes, and says the passkey is synced", async () => {
    const { user } = await newUser();
    const enrolled = await enrollMfa(user);
    const { added } = await registerPasskey(enrolled.token, {
      synced: true,
      proof: { code: await totpCode(enrolled.secret) },
    });
    expect(added.status).toBe(201);
    expect(added.json.backup_codes).toBeUndefined();
    expect(added.json.passkey).toMatchObject({ backup_eligible: true, backed_up: true });
    // The old backup codes still stand.
    const status = await call("GET", "/api/v1/mfa/status", { token: enrolled.token });
    expect(status.json.backup_codes_remaining).toBe(10);
  });

  it("beside a factor in force, needs a current one: a session alone cannot add a way in", async () => {
    const { user } = await newUser();
    const token = await sessionToken(user);
    const { authenticator } = await registerPasskey(token);
    const session = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(user.tenantId, authenticator),
      })
    ).json.token;
    const bare = await registerPasskey(session);
    expectError(bare.added, 401, "invalid_mfa_code");
    // Confirmed with the passkey already held, the second one is added.
    const begun = await call("POST", "/api/v1/mfa/passkeys/confirm-options", { token: session });
    const mfa_passkey = {
      challenge_id: begun.json.challenge_id,
      credential: await authenticator.assert(begun.json.options),
    };
    const confirmed = await registerPasskey(session, { name: "Phone", proof: { mfa_passkey } });
    expect(confirmed.added.status).toBe(201);
    expect((await call("GET", "/api/v1/mfa/passkeys", { token: session })).json.passkeys).toHaveLength(2);
  });

  it("needs a fresh sign-in, as enabling TOTP does", async () => {
    const { user } = await newUser();
    const token = await sessionToken(user);
    const { advanceClock } = await import("../../src/clock");
    advanceClock(11 * 60 * 1000);
    expectError(
      await call("POST", "/api/v1/mfa/passkeys/options", { token }),
      401,
      "reauthentication_required",
    );
  });

  it("refuses the same authenticator twice, and a credential another user holds", async () => {
    const { user, tenantId } = await newUser();
    const token = await sessionToken(user);
    const { authenticator, added } = await registerPasskey(token);
    const again = await registerPasskey(token, {
      authenticator,
      proof: { code: added.json.backup_codes[0] },
    });
    expectError(again.added, 409, "passkey_exists");

    const other = await addUser(tenantId, { username: "quinn" });
    const stolen = await registerPasskey(await sessionToken(other), { authenticator });
    expectError(stolen.added, 409, "passkey_exists");
  });

  it("is mailed and audited", async () => {
    const { user, admin } = await newUser();
    const token = await sessionToken(user);
    const authenticator = await SoftAuthenticator.create();
    const begun = await call("POST", "/api/v1/mfa/passkeys/options", { token });
    const credential = await authenticator.register(begun.json.options);
    const added = await callRecordingEmail("POST", "/api/v1/mfa/passkeys", {
      token,
      body: { name: "Key", credential },
    });
    expect(added.status).toBe(201);
    expect(added.sent.map((job) => (job.kind === "security" ? job.event : job.kind))).toEqual([
      "mfa_enabled",
    ]);
    const audit = await call("GET", `/api/v1/tenants/${user.tenantId}/audit-events`, {
      token: await sessionToken(admin),
    });
    expect(audit.json.events.map((event: { action: string }) => event.action)).toContain("mfa.enabled");
  });
});

describe("signing in with a passkey", () => {
  it("answers mfa_required with the factors, and the passkey completes the second step", async () => {
    const { user } = await newUser();
    const enrolled = await enrollMfa(user);
    const { authenticator } = await registerPasskey(enrolled.token, {
      proof: { code: await totpCode(enrolled.secret) },
    });

    const first = await login(user);
    expect(first.json).toMatchObject({ mfa_required: true, factors: ["totp", "passkey"] });
    const mfa_passkey = await secondStepAssertion(user, first.json.mfa_token, authenticator);
    const second = await call("POST", "/api/v1/auth/login", {
      body: {
        tenant_id: user.tenantId,
        username: user.username,
        mfa_token: first.json.mfa_token,
        mfa_passkey,
      },
    });
    expect(second.status).toBe(200);
    expect(second.json.token).toBeTypeOf("string");
    const me = await call("GET", "/api/v1/auth/me", { token: second.json.token });
    expect(me.json.user.username).toBe(user.username);
  });

  it("also completes the documented re-post with the password", async () => {
    const { user } = await newUser();
    const { authenticator } = await registerPasskey(await sessionToken(user));
    const first = await login(user);
    expect(first.json.factors).toEqual(["passkey"]);
    const mfa_passkey = await secondStepAssertion(user, first.json.mfa_token, authenticator);
    const second = await login(user, { mfa_passkey });
    expect(second.status).toBe(200);
    expect(second.json.token).toBeTypeOf("string");
  });

  it("alone, with no password and no code after it, and records its use", async () => {
    const { user } = await newUser();
    const { authenticator } = await registerPasskey(await sessionToken(user));
    const body = await passkeyLoginBody(user.tenantId, authenticator);
    expect(body.credential.response.userHandle).toBeTypeOf("string");
    const signedIn = await call("POST", "/api/v1/auth/passkey/login", { body });
    expect(signedIn.status).toBe(200);
    expect(signedIn.json.mfa_required).toBeUndefined();
    const me = await call("GET", "/api/v1/auth/me", { token: signedIn.json.token });
    expect(me.status).toBe(200);
    const [stored] = await listPasskeys(db, user.user.id);
    expect(stored?.lastUsedAt).not.toBeNull();
    expect(stored?.signCount).toBe(2);
  });

  it("satisfies a tenant's enforcement by itself: a new user enrolls with a passkey instead of TOTP", async () => {
    const { user, admin } = await newUser();
    const adminToken = await sessionToken(admin);
    await registerPasskey(adminToken);
    const settings = await call("PATCH", `/api/v1/tenants/${user.tenantId}/settings`, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    expect(settings.status).toBe(200);

    const first = await login(user);
    expect(first.json.mfa_enrollment_required).toBe(true);
    const enrollment = first.json.enrollment_token;
    const { added, authenticator } = await registerPasskey(enrollment);
    expect(added.status).toBe(201);
    expect(added.json.backup_codes).toHaveLength(10);
    expect(added.json.token).toBeTypeOf("string");
    expect((await call("GET", "/api/v1/auth/me", { token: added.json.token })).status).toBe(200);

    const alone = await call("POST", "/api/v1/auth/passkey/login", {
      body: await passkeyLoginBody(user.tenantId, authenticator),
    });
    expect(alone.status).toBe(200);
    expect(alone.json.mfa_enrollment).toBeUndefined();
  });
});

describe("managing passkeys", () => {
  it("renames, and removes one with a code while another factor remains", async () => {
    const { user } = await newUser();
    const enrolled = await enrollMfa(user);
    const { added } = await registerPasskey(enrolled.token, {
      name: "Old",
      proof: { code: await totpCode(enrolled.secret) },
    });
    nextStep();
    const id = added.json.passkey.id;
    const renamed = await call("PATCH", `/api/v1/mfa/passkeys/${id}`, {
      token: enrolled.token,
      body: { name: "Phone" },
    });
    expect(renamed.json.passkey.name).toBe("Phone");
    expectError(
      await call("DELETE", `/api/v1/mfa/passkeys/${id}`, { token: enrolled.token, body: { code: "000000" } }),
      401,
      "invalid_mfa_code",
    );
    const removed = await call("DELETE", `/api/v1/mfa/passkeys/${id}`, {
      token: enrolled.token,
      body: { code: await totpCode(enrolled.secret) },
    });
    expect(removed.json).toEqual({ mfa_enabled: true });
    expect((await call("GET", "/api/v1/mfa/passkeys", { token: enrolled.token })).json.passkeys).toEqual([]);
  });

  it("removing the last factor, confirmed with the passkey itself, turns MFA off", async () => {
    const { user } = await newUser();
    const token = await sessionToken(user);
    const { added, authenticator } = await registerPasskey(token);
    const session = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(user.tenantId, authenticator),
      })
    ).json.token;
    const begun = await call("POST", "/api/v1/mfa/passkeys/confirm-options", { token: session });
    expect(begun.status).toBe(200);
    const mfa_passkey = {
      challenge_id: begun.json.challenge_id,
      credential: await authenticator.assert(begun.json.options),
    };
    const removed = await call("DELETE", `/api/v1/mfa/passkeys/${added.json.passkey.id}`, {
      token: session,
      body: { mfa_passkey },
    });
    expect(removed.json).toEqual({ mfa_enabled: false });
    const status = await call("GET", "/api/v1/mfa/status", { token: session });
    expect(status.json).toMatchObject({ mfa_enabled: false, backup_codes_remaining: 0 });
  });

  it("a user with passkeys alone re-authenticates and changes the password confirming with a passkey", async () => {
    const { user } = await newUser();
    const { authenticator } = await registerPasskey(await sessionToken(user));
    const session = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(user.tenantId, authenticator),
      })
    ).json.token;
    const confirm = async () => {
      const begun = await call("POST", "/api/v1/mfa/passkeys/confirm-options", { token: session });
      return {
        challenge_id: begun.json.challenge_id,
        credential: await authenticator.assert(begun.json.options),
      };
    };
    const fresh = await call("POST", "/api/v1/auth/reauthenticate", {
      token: session,
      body: { password: user.password, mfa_passkey: await confirm() },
    });
    expect(fresh.status).toBe(200);
    const changed = await call("POST", "/api/v1/auth/password", {
      token: session,
      body: {
        current_password: user.password,
        new_password: "lantern orchard pebble",
        mfa_passkey: await confirm(),
      },
    });
    expect(changed.status).toBe(204);
    expectError(
      await call("POST", "/api/v1/auth/password", {
        token: session,
        body: { current_password: "lantern orchard pebble", new_password: "copper meadow violin" },
      }),
      401,
      "invalid_mfa_code",
    );
  });

  it("another user's passkey is not found", async () => {
    const { user, tenantId } = await newUser();
    const { added } = await registerPasskey(await sessionToken(user));
    const other = await enrollMfa(await addUser(tenantId, { username: "rae" }));
    const id = added.json.passkey.id;
    expectError(
      await call("PATCH", `/api/v1/mfa/passkeys/${id}`, { token: other.token, body: { name: "x" } }),
      404,
      "not_found",
    );
    expectError(
      await call("DELETE", `/api/v1/mfa/passkeys/${id}`, {
        token: other.token,
        body: { code: await totpCode(other.secret) },
      }),
      404,
      "not_found",
    );
  });

  it("the dashboard counts users by factor", async () => {
    const { user, admin, tenantId } = await newUser();
    const adminEnrolled = await enrollMfa(admin);
    await registerPasskey(await sessionToken(user));
    const both = await enrollMfa(await addUser(tenantId, { username: "sam" }));
    await registerPasskey(both.token, { proof: { code: await totpCode(both.secret) } });
    const dashboard = await call("GET", `/api/v1/tenants/${tenantId}/mfa/status`, {
      token: adminEnrolled.token,
    });
    expect(dashboard.status).toBe(200);
    expect(dashboard.json.by_factor).toEqual({ totp: 1, passkey: 1, both: 1 });
    expect(dashboard.json.enrolled_users).toBe(3);
  });
});
