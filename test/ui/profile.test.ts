// Profile: turning MFA on, moving to a new device, new backup codes, turning MFA off, the grace banner.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/auth/enforcement";
import { advanceClock, now } from "../../src/clock";
import { tenants } from "../../src/db/schema";
import { addUser, createTenant, db, type TestUser } from "../helpers/factory";
import { login } from "../helpers/http";
import { nextStep, totpCode } from "../helpers/totp";
import { decode, manualKey, shownBackupCodes, signInUi, textOf, UiClient } from "./helpers";

async function newUser() {
  const { tenantId } = await createTenant();
  return addUser(tenantId);
}

/** Enables MFA through the Profile screens, as a person would, and returns what they saved. */
async function enableThroughUi(client: UiClient) {
  const setup = await client.post("/ui/mfa/setup", { flow: "enable" });
  expect(setup.status).toBe(200);
  const secret = manualKey(setup.html);
  const verify = await client.post("/ui/mfa/verify", { flow: "enable", code: await totpCode(secret) });
  expect(verify.status).toBe(200);
  nextStep();
  return { secret, backupCodes: shownBackupCodes(verify.html), verify };
}

async function setRequired(tenantId: string, graceDays: number, since = now()) {
  await db
    .update(tenants)
    .set({ mfaRequired: true, mfaGracePeriodDays: graceDays, mfaEnforcedSince: since })
    .where(eq(tenants.id, tenantId));
}

describe("Profile", () => {
  it("needs a session: without one a page goes to sign-in", async () => {
    const response = await new UiClient().get("/ui/profile", { htmx: false });
    expect(response.status).toBe(303);
    expect(response.redirect).toBe("/");
  });

  it("shows the account and MFA off, with Enable MFA", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const page = await client.get("/ui/profile", { htmx: false });
    expect(page.html).toMatch(/^<!DOCTYPE html>/);
    expect(page.html).toContain(`${user.username}@example.com`);
    expect(textOf(page.html, "mfa-card")).toContain("Off");
    expect(page.html).toContain("Enable MFA");
    expect(page.html).toContain('hidden=""'); // no grace banner
  });

  it("asks a session signed in a while ago for its password before it turns MFA on", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    advanceClock(11 * 60_000);
    const asked = await client.post("/ui/mfa/setup", { flow: "enable" });
    expect(asked.status).toBe(401);
    expect(textOf(asked.html, "mfa-card")).toContain("Confirm it's you");
    expect(asked.html).toMatch(/<input[^>]*name="confirm_password"[^>]*autocomplete="current-password"/);
    expect(asked.html).not.toContain("confirm_code"); // no MFA yet: the password alone
    expect(asked.html).not.toContain("manual-key");

    const wrong = await client.post("/ui/mfa/setup", { flow: "enable", confirm_password: "not it" });
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.html, "confirm-password-error")).toBe("That password is not right.");

    const confirmed = await client.post("/ui/mfa/setup", { flow: "enable", confirm_password: user.password });
    expect(confirmed.status).toBe(200);
    expect(manualKey(confirmed.html)).toMatch(/^[A-Z2-7]{32}$/);
  });

  it("asks a stale session for its password and a code before a move, then for the move's own code", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const { secret } = await enableThroughUi(client);
    advanceClock(11 * 60_000);
    const asked = await client.post("/ui/mfa/setup", { flow: "move", code: await totpCode(secret) });
    expect(asked.status).toBe(401);
    expect(asked.html).toContain('name="confirm_code"');
    const confirmed = await client.post("/ui/mfa/setup", {
      flow: "move",
      confirm_password: user.password,
      confirm_code: await totpCode(secret),
    });
    expect(confirmed.status).toBe(200);
    expect(decode(confirmed.html)).toContain("Confirmed. Now enter a new code");
    nextStep();
    const moving = await client.post("/ui/mfa/setup", { flow: "move", code: await totpCode(secret) });
    expect(moving.status).toBe(200);
    expect(manualKey(moving.html)).toMatch(/^[A-Z2-7]{32}$/);
  });

  it("enables MFA: QR code and manual key, then the code, then the backup codes exactly once", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const setup = await client.post("/ui/mfa/setup", { flow: "enable" });
    expect(setup.html).toMatch(/<img[^>]*class="qr"[^>]*src="data:image\/png;base64,/);
    expect(setup.html).toMatch(/<img[^>]*alt="QR code[^"]*"/);
    const codeInput = setup.html.match(/<input[^>]*name="code"[^>]*>/)?.[0] ?? "";
    expect(codeInput).toContain('autocomplete="one-time-code"');
    expect(codeInput).toContain('inputmode="numeric"');

    const { backupCodes, verify, secret } = await enableThroughUi(client);
    expect(backupCodes).toHaveLength(10);
    expect(verify.headers.get("hx-retarget")).toBe("#mfa-card");
    expect(verify.html).toContain("They will not be shown again.");
    expect(verify.html).toContain('download="infracast-backup-codes.txt"');
    expect(decode(verify.html)).toContain(`href="data:text/plain;charset=utf-8,`);
    expect(verify.html).toContain('id="grace-banner" hidden="" hx-swap-oob="true"');

    // They are the real codes: one signs in. The profile never shows them again, only how many are left.
    const viaBackup = await login(user, { mfa_code: backupCodes[0] });
    expect(viaBackup.status).toBe(200);
    const profile = await client.get("/ui/profile", { htmx: false });
    expect(textOf(profile.html, "backup-codes-remaining")).toBe("9 of 10 remaining");
    expect(shownBackupCodes(profile.html)).toEqual([]);
    expect(profile.html).not.toContain(backupCodes[1]);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  });

  it("shows no backup codes before MFA is on, and issues them at verify, replacing the setup's", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const setup = await client.post("/ui/mfa/setup", { flow: "enable" });
    expect(shownBackupCodes(setup.html)).toEqual([]);
    expect(setup.html).not.toMatch(/\b\d{8}\b/);
    const { backupCodes } = await enableThroughUi(client);
    const { results } = await env.DB.prepare("select status from backup_codes where user_id = ?")
      .bind(user.user.id)
      .all<{ status: string }>();
    expect(results.map((row) => row.status)).toEqual(Array(10).fill("active"));
    expect((await login(user, { mfa_code: backupCodes[9] })).status).toBe(200);
  });

  it("keeps the verify form with the error in place for a wrong code", async () => {
    const client = await signInUi(await newUser());
    await client.post("/ui/mfa/setup", { flow: "enable" });
    const wrong = await client.post("/ui/mfa/verify", { flow: "enable", code: "000000" });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toMatch(/^<form id="verify-form"/);
    expect(decode(wrong.html)).toContain("That code didn't work.");
    expect(wrong.html).not.toContain("backup_codes");
  });

  it("regenerates backup codes with a current code; the old ones stop working", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const { secret, backupCodes } = await enableThroughUi(client);
    const regenerated = await client.post("/ui/mfa/backup-codes", { code: await totpCode(secret) });
    expect(regenerated.status).toBe(200);
    const fresh = shownBackupCodes(regenerated.html);
    expect(fresh).toHaveLength(10);
    expect(regenerated.html).toContain("New backup codes");
    expect((await login(user, { mfa_code: backupCodes[0] })).status).toBe(401);
    expect((await login(user, { mfa_code: fresh[0] })).status).toBe(200);
  });

  it("shows a wrong code in place, in the action that asked for it", async () => {
    const client = await signInUi(await newUser());
    await enableThroughUi(client);
    const response = await client.post("/ui/mfa/backup-codes", { code: "123456" });
    expect(response.status).toBe(401);
    expect(response.html).toMatch(/<details class="action" open="" data-action="regenerate">/);
    expect(response.html).toContain('role="alert"');
  });

  it("moves to a new device: a code from the old one, then the new secret is confirmed", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const old = await enableThroughUi(client);
    const setup = await client.post("/ui/mfa/setup", { flow: "move", code: await totpCode(old.secret) });
    expect(setup.status).toBe(200);
    expect(setup.html).toContain("Move to a new device");
    const secret = manualKey(setup.html);
    expect(secret).not.toBe(old.secret);
    nextStep();
    const verify = await client.post("/ui/mfa/verify", { flow: "move", code: await totpCode(secret) });
    expect(verify.html).toContain("Your new device is ready");
    // The old device's backup codes went with it; the ones shown now work.
    const fresh = shownBackupCodes(verify.html);
    expect(fresh).toHaveLength(10);
    expect((await login(user, { mfa_code: old.backupCodes[0] })).status).toBe(401);
    expect((await login(user, { mfa_code: fresh[0] })).status).toBe(200);
    nextStep();
    expect((await login(user, { mfa_code: await totpCode(old.secret) })).status).toBe(401);
    nextStep();
    expect((await login(user, { mfa_code: await totpCode(secret) })).status).toBe(200);
  });

  it("disables MFA with a current code and says so on Profile", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const { secret } = await enableThroughUi(client);
    const response = await client.post("/ui/mfa/disable", { code: await totpCode(secret) });
    expect(response.redirect).toBe("/ui/profile?notice=mfa-disabled");
    const profile = await client.get("/ui/profile?notice=mfa-disabled", { htmx: false });
    expect(profile.html).toContain("Two-step verification is off.");
    expect(profile.html).toContain("Enable MFA");
    expect((await login(user)).json.token).toBeTypeOf("string");
  });

  it("offers no Disable while the tenant requires MFA, and refuses it in place", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const { secret } = await enableThroughUi(client);
    await setRequired(user.tenantId, 7);
    const profile = await client.get("/ui/profile", { htmx: false });
    expect(profile.html).not.toContain('data-action="disable"');
    expect(profile.html).toContain("so it can&#39;t be turned off");
    const refused = await client.post("/ui/mfa/disable", { code: await totpCode(secret) });
    expect(refused.status).toBe(403);
    expect(decode(refused.html)).toContain("Your organisation requires two-step verification");
  });

  it("shows the grace banner with a live countdown to the deadline on every page", async () => {
    const { tenantId, admin } = await createTenant();
    const member: TestUser = await addUser(tenantId);
    const since = now();
    await setRequired(tenantId, 7, since);
    const deadline = new Date(since + 7 * DAY_MS).toISOString();
    for (const [user, paths] of [
      [member, ["/ui/profile"]],
      [admin, ["/ui/profile", "/ui/settings/security", "/ui/settings/users", "/ui/audit"]],
    ] as const) {
      const client = await signInUi(user);
      for (const path of paths) {
        const page = await client.get(path, { htmx: false });
        expect(page.status).toBe(200);
        expect(page.html).toContain('id="grace-banner" class="banner banner-warning" role="status"');
        expect(page.html).toContain(`data-countdown-to="${deadline}"`);
        expect(textOf(page.html, "grace-banner")).toMatch(/requires two-step verification.*6 days 23 hours/);
      }
    }
  });

  it("sends a grace session whose deadline has passed to enrollment", async () => {
    const user = await newUser();
    advanceClock(DAY_MS);
    // Enforcement began a minute after the user was created: a day of grace, a minute of it left.
    await setRequired(user.tenantId, 1, now() - DAY_MS + 60_000);
    const client = await signInUi(user);
    advanceClock(2 * 60_000);
    const profile = await client.get("/ui/profile", { htmx: false });
    expect(profile.redirect).toBe("/ui/enroll");
    const enroll = await client.get("/ui/enroll", { htmx: false });
    expect(enroll.status).toBe(200);
    expect(enroll.html).toContain("Start setup");
  });

  it("does not show enrollment to someone who has nothing to enroll for", async () => {
    const client = await signInUi(await newUser());
    expect((await client.get("/ui/enroll", { htmx: false })).redirect).toBe("/ui/profile");
  });

  it("answers a request that is not htmx's with a whole page", async () => {
    const client = await signInUi(await newUser());
    const setup = await client.post("/ui/mfa/setup", { flow: "enable" }, { htmx: false });
    expect(setup.status).toBe(200);
    expect(setup.html).toMatch(/^<!DOCTYPE html><html lang="en">/);
    expect(setup.html).toContain('id="manual-key"');
  });
});
