// Attacks on the passkey paths: every check of src/auth/webauthn.ts refuses its forgery on its own,
// challenges are single-use and bound, and no way in skips what a passkey must prove.
import { describe, expect, it } from "vitest";
import { listPasskeys } from "../../src/auth/passkeys";
import { PasskeyRejected, verifyAssertion, verifyRegistration } from "../../src/auth/webauthn";
import { advanceClock } from "../../src/clock";
import { POLICIES } from "../../src/limiter/policy";
import {
  type CeremonyOptions,
  passkeyLoginBody,
  registerPasskey,
  SoftAuthenticator,
  secondStepAssertion,
} from "../helpers/authenticator";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, expectError, login, ORIGIN, sessionToken } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";

const expected = (challenge: string) => ({ origin: ORIGIN, rpId: "localhost", challenge });
const CHALLENGE = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

async function passkeyUser(options: { synced?: boolean } = {}) {
  const { tenantId, admin } = await createTenant();
  const user = await addUser(tenantId, { username: "vic" });
  const { added, authenticator } = await registerPasskey(await sessionToken(user), options);
  expect(added.status).toBe(201);
  return { user, admin, tenantId, authenticator, passkeyId: added.json.passkey.id as string };
}

async function rejection(run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    if (error instanceof PasskeyRejected) return error.check;
    throw error;
  }
  return "accepted";
}

describe("each WebAuthn check refuses its own forgery", () => {
  const options = { challenge: CHALLENGE, rp: { id: "localhost" }, user: { id: "dXNlcg" } };

  it.each<[string, CeremonyOptions, string]>([
    ["a wrong origin (a phishing site's)", { origin: "https://login.examp1e.com" }, "origin"],
    ["a wrong RP id", { rpId: "evil.example" }, "rp_id"],
    ["user verification false", { userVerified: false }, "user_verified"],
    ["user presence false", { userPresent: false }, "user_present"],
    ["another challenge", { challenge: "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA" }, "challenge"],
    ["an assertion's type at registration", { type: "webauthn.get" }, "type"],
  ])("registration: %s", async (_, knobs, check) => {
    const authenticator = await SoftAuthenticator.create();
    const credential = await authenticator.register(options, knobs);
    expect(await rejection(() => verifyRegistration(credential, expected(CHALLENGE)))).toBe(check);
  });

  it("registration: a genuine one is accepted", async () => {
    const authenticator = await SoftAuthenticator.create();
    const credential = await authenticator.register(options);
    const stored = await verifyRegistration(credential, expected(CHALLENGE));
    expect(stored).toMatchObject({ credentialId: authenticator.id, algorithm: -7, signCount: 1 });
  });

  it.each<[string, CeremonyOptions, string]>([
    ["a wrong origin", { origin: "http://localhost:8788" }, "origin"],
    ["a wrong RP id", { rpId: "localhost.evil" }, "rp_id"],
    ["user verification false", { userVerified: false }, "user_verified"],
    ["another challenge", { challenge: "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA" }, "challenge"],
    ["a registration's type", { type: "webauthn.create" }, "type"],
    ["a sign count that went backwards", { signCount: 1 }, "sign_count"],
    ["a sign count that stood still", { signCount: 5 }, "sign_count"],
  ])("assertion: %s", async (_, knobs, check) => {
    const authenticator = await SoftAuthenticator.create();
    const stored = await verifyRegistration(await authenticator.register(options), expected(CHALLENGE));
    const credential = await authenticator.assert({ challenge: CHALLENGE, rpId: "localhost" }, knobs);
    const record = { ...stored, signCount: 5, userId: "user" };
    expect(await rejection(() => verifyAssertion(credential, expected(CHALLENGE), record))).toBe(check);
  });

  it("assertion: a signature by another key, and another credential's id", async () => {
    const authenticator = await SoftAuthenticator.create();
    const impostor = await SoftAuthenticator.create();
    const stored = await verifyRegistration(await authenticator.register(options), expected(CHALLENGE));
    const record = { ...stored, userId: "user" };
    const forged = await impostor.assert({ challenge: CHALLENGE, rpId: "localhost" });
    // The impostor's signature, under the genuine credential's id.
    const relabelled = { ...forged, id: authenticator.id, rawId: authenticator.id };
    expect(await rejection(() => verifyAssertion(relabelled, expected(CHALLENGE), record))).toBe("signature");
    expect(await rejection(() => verifyAssertion(forged, expected(CHALLENGE), record))).toBe("credential");
  });

  it("assertion: a synced passkey's counter of 0 is accepted again and again", async () => {
    const authenticator = await SoftAuthenticator.create({ synced: true });
    const stored = await verifyRegistration(await authenticator.register(options), expected(CHALLENGE));
    expect(stored).toMatchObject({ signCount: 0, backupEligible: true, backedUp: true });
    for (let i = 0; i < 2; i++) {
      const credential = await authenticator.assert({ challenge: CHALLENGE, rpId: "localhost" });
      await expect(
        verifyAssertion(credential, expected(CHALLENGE), { ...stored, userId: "user" }),
      ).resolves.toEqual({
        signCount: 0,
        backedUp: true,
      });
    }
  });

  it("malformed payloads are refused as malformed, never a 500", async () => {
    const authenticator = await SoftAuthenticator.create();
    const credential = await authenticator.register(options);
    const broken = { ...credential, response: { ...credential.response, attestationObject: "AAAA" } };
    expect(await rejection(() => verifyRegistration(broken, expected(CHALLENGE)))).toBe("malformed");
  });
});

describe("through the API", () => {
  it("a replayed challenge is refused: the same assertion signs in once", async () => {
    const { user, authenticator } = await passkeyUser();
    const body = await passkeyLoginBody(user.tenantId, authenticator, { signCount: 10 });
    expect((await call("POST", "/api/v1/auth/passkey/login", { body })).status).toBe(200);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
  });

  it("an expired challenge is refused", async () => {
    const { user, authenticator } = await passkeyUser();
    const body = await passkeyLoginBody(user.tenantId, authenticator);
    advanceClock(5 * 60 * 1000 + 1000);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
  });

  it("two concurrent uses of one challenge: exactly one wins", async () => {
    const { user, authenticator } = await passkeyUser({ synced: true });
    const body = await passkeyLoginBody(user.tenantId, authenticator);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => call("POST", "/api/v1/auth/passkey/login", { body })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401, 401, 401]);
  });

  it("a challenge issued in one tenant is refused in another, and one of the second step does not sign in alone", async () => {
    const { user, authenticator } = await passkeyUser();
    const elsewhere = await createTenant();
    const body = await passkeyLoginBody(elsewhere.tenantId, authenticator);
    expectError(
      await call("POST", "/api/v1/auth/passkey/login", { body: { ...body, tenant_id: user.tenantId } }),
      401,
      "invalid_passkey",
    );
    const first = await login(user);
    const secondStep = await secondStepAssertion(user, first.json.mfa_token, authenticator);
    expectError(
      await call("POST", "/api/v1/auth/passkey/login", { body: { tenant_id: user.tenantId, ...secondStep } }),
      401,
      "invalid_passkey",
    );
  });

  it("a credential of another tenant signs nobody in here", async () => {
    const { authenticator } = await passkeyUser();
    const elsewhere = await createTenant();
    const body = await passkeyLoginBody(elsewhere.tenantId, authenticator);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
  });

  it("another user's passkey cannot complete this user's second step", async () => {
    const { user, tenantId } = await passkeyUser();
    const mallory = await addUser(tenantId, { username: "mallory" });
    const { authenticator: malloryKey } = await registerPasskey(await sessionToken(mallory));
    const first = await login(user);
    const forged = await secondStepAssertion(user, first.json.mfa_token, malloryKey);
    const second = await call("POST", "/api/v1/auth/login", {
      body: {
        tenant_id: tenantId,
        username: user.username,
        mfa_token: first.json.mfa_token,
        mfa_passkey: forged,
      },
    });
    expectError(second, 401, "invalid_mfa_code");
    // Nor can Mallory's own challenge be spent on Vic's sign-in.
    const mine = await login(mallory);
    const hers = await secondStepAssertion(mallory, mine.json.mfa_token, malloryKey);
    const swapped = await call("POST", "/api/v1/auth/login", {
      body: {
        tenant_id: tenantId,
        username: user.username,
        mfa_token: first.json.mfa_token,
        mfa_passkey: hers,
      },
    });
    expectError(swapped, 401, "invalid_mfa_code");
  });

  it("the second step's options need the first step's token: nobody lists a user's credentials by name", async () => {
    const { user } = await passkeyUser();
    const bare = await call("POST", "/api/v1/auth/passkey/options", {
      body: { tenant_id: user.tenantId, username: user.username },
    });
    expectError(bare, 400, "invalid_request");
    const forged = await call("POST", "/api/v1/auth/passkey/options", {
      body: { tenant_id: user.tenantId, username: user.username, mfa_token: "x.y.z" },
    });
    expectError(forged, 401, "invalid_mfa_token");
    // A discoverable request names no credential at all.
    const open = await call("POST", "/api/v1/auth/passkey/options", { body: { tenant_id: user.tenantId } });
    expect(open.json.options.allowCredentials).toEqual([]);
  });

  it("a sign count that goes backwards is refused at sign-in", async () => {
    const { user, authenticator } = await passkeyUser();
    const ahead = await passkeyLoginBody(user.tenantId, authenticator, { signCount: 50 });
    expect((await call("POST", "/api/v1/auth/passkey/login", { body: ahead })).status).toBe(200);
    const cloned = await passkeyLoginBody(user.tenantId, authenticator, { signCount: 49 });
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body: cloned }), 401, "invalid_passkey");
  });

  it("user verification false and a wrong origin are refused at sign-in", async () => {
    const { user, authenticator } = await passkeyUser();
    for (const knobs of [
      { userVerified: false },
      { origin: "https://evil.example" },
      { omitUserHandle: true },
    ]) {
      const body = await passkeyLoginBody(user.tenantId, authenticator, knobs);
      expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
    }
  });

  it("passkey failures count against the account like wrong codes, and the lock answers a right one too", async () => {
    const { user, authenticator } = await passkeyUser();
    for (let i = 0; i < 5; i++) {
      const body = await passkeyLoginBody(user.tenantId, authenticator, { userVerified: false });
      expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
    }
    const right = await passkeyLoginBody(user.tenantId, authenticator);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body: right }), 429, "too_many_attempts");
  });

  it("a deactivated user's passkey signs nobody in", async () => {
    const { user, admin, authenticator } = await passkeyUser();
    const adminToken = (await enrollMfa(admin)).token;
    const off = await call("PATCH", `/api/v1/tenants/${user.tenantId}/users/${user.user.id}`, {
      token: adminToken,
      body: { active: false },
    });
    expect(off.status).toBe(200);
    const body = await passkeyLoginBody(user.tenantId, authenticator);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
  });

  it("removing the last factor is refused while the tenant requires MFA", async () => {
    const { user, admin, authenticator, passkeyId } = await passkeyUser();
    const adminToken = (await enrollMfa(admin)).token;
    await call("PATCH", `/api/v1/tenants/${user.tenantId}/settings`, {
      token: adminToken,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    const session = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(user.tenantId, authenticator),
      })
    ).json.token;
    const begun = await call("POST", "/api/v1/mfa/passkeys/confirm-options", { token: session });
    const mfa_passkey = {
      challenge_id: begun.json.challenge_id,
      credential: await authenticator.assert(begun.json.options),
    };
    expectError(
      await call("DELETE", `/api/v1/mfa/passkeys/${passkeyId}`, { token: session, body: { mfa_passkey } }),
      403,
      "mfa_enforced",
    );
    expect(await listPasskeys(db, user.user.id)).toHaveLength(1);
  });

  it("two concurrent removals of a user's two passkeys under enforcement: one goes, the last stays", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId, { username: "una" });
    const token = await sessionToken(user);
    const first = await registerPasskey(token, { name: "One" });
    const [codeA, codeB, codeC] = first.added.json.backup_codes as string[];
    const second = await registerPasskey(token, { name: "Two", proof: { code: codeC } });
    await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
      token: (await enrollMfa(admin)).token,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    const session = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(tenantId, second.authenticator),
      })
    ).json.token;
    const ids = [first.added.json.passkey.id, second.added.json.passkey.id];
    const answers = await Promise.all(
      ids.map((id, i) =>
        call("DELETE", `/api/v1/mfa/passkeys/${id}`, { token: session, body: { code: [codeA, codeB][i] } }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 403]);
    expect(await listPasskeys(db, user.user.id)).toHaveLength(1);
    const status = await call("GET", "/api/v1/mfa/status", { token: session });
    expect(status.json.mfa_enabled).toBe(true);
  });

  it("two concurrent removals of the last two passkeys: MFA ends, and the trail and the answers say so", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId, { username: "ora" });
    const token = await sessionToken(user);
    const first = await registerPasskey(token, { name: "One" });
    const [codeA, codeB, codeC] = first.added.json.backup_codes as string[];
    const second = await registerPasskey(token, { name: "Two", proof: { code: codeC } });
    const ids = [first.added.json.passkey.id, second.added.json.passkey.id];
    const answers = await Promise.all(
      ids.map((id, i) =>
        call("DELETE", `/api/v1/mfa/passkeys/${id}`, { token, body: { code: [codeA, codeB][i] } }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    // Whichever went second took MFA with it; exactly one answer says MFA is off.
    expect(answers.map((answer) => answer.json.mfa_enabled).sort()).toEqual([false, true]);
    expect((await call("GET", "/api/v1/mfa/status", { token })).json.mfa_enabled).toBe(false);
    const audit = await call("GET", `/api/v1/tenants/${tenantId}/audit-events`, {
      token: (await enrollMfa(admin)).token,
    });
    const actions = audit.json.events
      .filter((event: { target_id: string }) => event.target_id === user.user.id)
      .map((event: { action: string }) => event.action);
    expect(actions.filter((action: string) => action === "mfa.passkey_removed")).toHaveLength(2);
    expect(actions.filter((action: string) => action === "mfa.disabled")).toHaveLength(1);
  });

  it("malformed base64 in an assertion is refused, never a 500", async () => {
    const { user, authenticator } = await passkeyUser();
    const body = await passkeyLoginBody(user.tenantId, authenticator);
    for (const key of ["clientDataJSON", "authenticatorData", "signature"] as const) {
      const broken = {
        ...body,
        credential: { ...body.credential, response: { ...body.credential.response, [key]: "AAAAA" } },
      };
      const answer = await call("POST", "/api/v1/auth/passkey/login", { body: broken });
      expect([400, 401]).toContain(answer.status);
    }
  });

  it("a stranger cannot write sign-in challenges without end, and one address's spent budget is not another's", async () => {
    const { tenantId } = await createTenant();
    const { limit } = POLICIES.passkeyChallengesPerAddress;
    const ask = (ip: string) =>
      call("POST", "/api/v1/auth/passkey/options", {
        body: { tenant_id: tenantId },
        headers: { "cf-connecting-ip": ip },
      });
    const statuses = [];
    for (let i = 0; i < limit; i++) statuses.push((await ask("198.51.100.77")).status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expectError(await ask("198.51.100.77"), 429, "too_many_attempts");
    expect((await ask("198.51.100.78")).status).toBe(200);
  });

  it("the pending sign-in's mfa_token opens no passkey route but the second step's options", async () => {
    const { user, authenticator } = await passkeyUser();
    const first = await login(user);
    const token = first.json.mfa_token;
    for (const [method, path] of [
      ["POST", "/api/v1/mfa/passkeys/options"],
      ["GET", "/api/v1/mfa/passkeys"],
      ["POST", "/api/v1/mfa/passkeys/confirm-options"],
    ] as const) {
      expectError(await call(method, path, { token }), 401, "unauthorized");
    }
    const step = await secondStepAssertion(user, token, authenticator);
    expect(step.challenge_id).toBeTypeOf("string");
  });

  it("a refused registration leaves MFA off, and options alone change nothing", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "yan" });
    const token = await sessionToken(user);
    const begun = await call("POST", "/api/v1/mfa/passkeys/options", { token });
    const device = await SoftAuthenticator.create();
    const credential = await device.register(begun.json.options, { userVerified: false });
    expectError(
      await call("POST", "/api/v1/mfa/passkeys", { token, body: { name: "Key", credential } }),
      401,
      "invalid_passkey",
    );
    await call("POST", "/api/v1/mfa/passkeys/options", { token });
    const status = await call("GET", "/api/v1/mfa/status", { token });
    expect(status.json).toMatchObject({ mfa_enabled: false, backup_codes_remaining: 0 });
    expect(await listPasskeys(db, user.user.id)).toEqual([]);
    expect((await login(user)).json.token).toBeTypeOf("string");
  });

  it("sessions do not outlive the change of factor: a first passkey and the last one removed end the others", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "zed" });
    const token = await sessionToken(user);
    const older = await sessionToken(user);
    const { added, authenticator } = await registerPasskey(token);
    // Opened with the password alone, before MFA was on: it ends.
    expectError(await call("GET", "/api/v1/auth/me", { token: older }), 401, "unauthorized");
    const other = (
      await call("POST", "/api/v1/auth/passkey/login", {
        body: await passkeyLoginBody(tenantId, authenticator),
      })
    ).json.token;
    const removed = await call("DELETE", `/api/v1/mfa/passkeys/${added.json.passkey.id}`, {
      token,
      body: { code: added.json.backup_codes[0] },
    });
    expect(removed.json).toEqual({ mfa_enabled: false });
    // Opened with the passkey that is gone: it ends too; the session that removed it stays.
    expectError(await call("GET", "/api/v1/auth/me", { token: other }), 401, "unauthorized");
    expect((await call("GET", "/api/v1/auth/me", { token })).status).toBe(200);
  });

  it("an admin's MFA reset removes passkeys too", async () => {
    const { user, admin, authenticator, tenantId } = await passkeyUser();
    const adminToken = (await enrollMfa(admin)).token;
    const reset = await call("POST", `/api/v1/tenants/${tenantId}/users/${user.user.id}/reset-mfa`, {
      token: adminToken,
    });
    expect(reset.status).toBe(200);
    expect(await listPasskeys(db, user.user.id)).toEqual([]);
    const body = await passkeyLoginBody(tenantId, authenticator);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
    expect((await login(user)).json.mfa_required).toBeUndefined();
  });

  it("turning MFA off removes every passkey with it", async () => {
    const { tenantId } = await createTenant();
    const enrolled = await enrollMfa(await addUser(tenantId, { username: "xan" }));
    const { authenticator } = await registerPasskey(enrolled.token, {
      proof: { code: enrolled.backupCodes[0] },
    });
    const off = await call("POST", "/api/v1/mfa/disable", {
      token: enrolled.token,
      body: { code: await totpCode(enrolled.secret) },
    });
    expect(off.status).toBe(200);
    expect(await listPasskeys(db, enrolled.user.id)).toEqual([]);
    const body = await passkeyLoginBody(tenantId, authenticator);
    expectError(await call("POST", "/api/v1/auth/passkey/login", { body }), 401, "invalid_passkey");
  });

  it("a TOTP code under an mfa token still works beside passkeys, and a code is no passkey", async () => {
    const { tenantId } = await createTenant();
    const enrolled = await enrollMfa(await addUser(tenantId, { username: "wes" }));
    await registerPasskey(enrolled.token, { proof: { code: enrolled.backupCodes[0] } });
    const first = await login(enrolled);
    const code = await totpCode(enrolled.secret);
    const both = await call("POST", "/api/v1/auth/login", {
      body: {
        tenant_id: tenantId,
        username: enrolled.username,
        mfa_token: first.json.mfa_token,
        mfa_code: code,
        mfa_passkey: { challenge_id: "x", credential: {} },
      },
    });
    expectError(both, 400, "invalid_request");
  });
});
