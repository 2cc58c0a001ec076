// The admin screens: Security (with its preview), MFA Status, Users and the audit log.
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../src/auth/enforcement";
import { advanceClock, now } from "../../src/clock";
import { addUser, createTenant } from "../helpers/factory";
import { call, login, sessionToken } from "../helpers/http";
import { enrollMfa } from "../helpers/totp";
import { decode, signInUi, textOf } from "./helpers";

const ADMIN_PAGES = [
  "/ui/settings/security",
  "/ui/settings/security/mfa-status",
  "/ui/settings/users",
  "/ui/audit",
];

async function adminClient() {
  const { tenantId, admin } = await createTenant();
  return { tenantId, admin, client: await signInUi(admin) };
}

async function settings(tenantId: string, token: string) {
  return (await call("GET", `/api/v1/tenants/${tenantId}/settings`, { token })).json;
}

describe("admin screens", () => {
  it("are for admins: a member gets a 403 page and no admin navigation", async () => {
    const { tenantId } = await createTenant();
    const member = await signInUi(await addUser(tenantId));
    for (const path of ADMIN_PAGES) {
      const response = await member.get(path, { htmx: false });
      expect(response.status).toBe(403);
      expect(response.html).toContain("No access");
    }
    const profile = await member.get("/ui/profile", { htmx: false });
    expect(profile.html).not.toContain('href="/ui/settings/security"');
    const admin = await adminClient();
    const adminProfile = await admin.client.get("/ui/profile", { htmx: false });
    expect(adminProfile.html).toContain('href="/ui/settings/security"');
    expect(adminProfile.html).toContain('href="/ui/audit"');
  });

  it("Security previews who would be blocked and who enters grace, without saving", async () => {
    const { tenantId, admin, client } = await adminClient();
    await addUser(tenantId);
    await addUser(tenantId);
    await enrollMfa(await addUser(tenantId));
    const token = await sessionToken(admin);
    const page = await client.get("/ui/settings/security", { htmx: false });
    expect(page.html).toMatch(/<input type="checkbox" class="switch" id="mfa-required"/);
    expect(page.html).toContain('<label for="mfa-required">');
    expect(page.html).toContain('<label for="grace-days">');
    expect(textOf(page.html, "impact-preview")).toContain("MFA is optional. 1 of 4 users have it on.");

    const grace = await client.get("/ui/settings/security/preview?mfa_required=on&mfa_grace_period_days=7");
    expect(grace.status).toBe(200);
    const text = decode(grace.html).replace(/<[^>]+>/g, "");
    expect(text).toContain("If you save now");
    expect(text).toMatch(/0 users are blocked/);
    expect(text).toMatch(/3 users in grace until \d+ \w+ \d{4}, \d\d:\d\d UTC/);
    expect(text).toMatch(/1 user has MFA already/);
    const now0 = await client.get("/ui/settings/security/preview?mfa_required=on&mfa_grace_period_days=0");
    expect(decode(now0.html).replace(/<[^>]+>/g, "")).toMatch(/3 users are blocked/);
    const bad = await client.get("/ui/settings/security/preview?mfa_required=on&mfa_grace_period_days=91");
    expect(bad.status).toBe(422);
    expect(bad.html).toContain("Enter a grace period of 0 to 90 days.");

    expect(await settings(tenantId, token)).toEqual({
      mfa_required: false,
      mfa_grace_period_days: 0,
      mfa_enforced_since: null,
    });
  });

  it("Security saves the toggle and the grace period and says what they mean now", async () => {
    const { tenantId, admin, client } = await adminClient();
    await addUser(tenantId);
    const token = await sessionToken(admin);
    const saved = await client.post("/ui/settings/security", {
      mfa_required: "on",
      mfa_grace_period_days: "7",
    });
    expect(saved.status).toBe(200);
    expect(saved.html).toContain("Saved.");
    expect(saved.html).toMatch(/<input[^>]*id="mfa-required"[^>]*checked=""/);
    expect(saved.html).toContain("Required since");
    // The admin is in grace now too; the banner on their page is replaced out of band.
    expect(saved.html).toContain(
      'id="grace-banner" class="banner banner-warning" role="status" hx-swap-oob="true"',
    );
    expect(decode(saved.html).replace(/<[^>]+>/g, "")).toMatch(/2 users in grace/);
    const after = await settings(tenantId, token);
    expect(after.mfa_required).toBe(true);
    expect(after.mfa_grace_period_days).toBe(7);
    const invalid = await client.post("/ui/settings/security", { mfa_grace_period_days: "-1" });
    expect(invalid.status).toBe(422);
    expect(invalid.html).toContain("Enter a grace period of 0 to 90 days.");
    const off = await client.post("/ui/settings/security", { mfa_grace_period_days: "7" });
    expect(off.html).not.toMatch(/<input[^>]*id="mfa-required"[^>]*checked=""/);
    expect((await settings(tenantId, token)).mfa_required).toBe(false);
  });

  it("Security refuses to save a form over a change made since it was shown", async () => {
    const { tenantId, admin, client } = await adminClient();
    const page = await client.get("/ui/settings/security", { htmx: false });
    const shown = page.html.match(/name="settings_version" value="(\d+)"/)?.[1];
    expect(shown).toBeDefined();
    // Another admin turns enforcement on meanwhile.
    const token = await sessionToken(admin);
    await call("PATCH", `/api/v1/tenants/${tenantId}/settings`, {
      token,
      body: { mfa_required: true, mfa_grace_period_days: 14 },
    });
    const stale = await client.post("/ui/settings/security", {
      mfa_grace_period_days: "3",
      settings_version: shown as string,
    });
    expect(stale.status).toBe(409);
    expect(decode(stale.html)).toContain("Someone else changed these settings a moment ago.");
    expect(await settings(tenantId, token)).toMatchObject({ mfa_required: true, mfa_grace_period_days: 14 });
  });

  it("MFA Status shows total vs enrolled, who lacks MFA with deadlines, and sends reminders with the result", async () => {
    const { tenantId, client } = await adminClient();
    const late = await addUser(tenantId, { username: "bob" });
    await enrollMfa(await addUser(tenantId, { username: "carol" }));
    await client.post("/ui/settings/security", { mfa_required: "on", mfa_grace_period_days: "3" });
    const page = await client.get("/ui/settings/security/mfa-status", { htmx: false });
    expect(page.status).toBe(200);
    expect(page.html).toContain('<span class="stat-value" data-stat="total">3</span>');
    expect(page.html).toContain('<span class="stat-value" data-stat="enrolled">1</span>');
    expect(page.html).toMatch(/<progress id="enrollment-progress" max="3" value="1">/);
    expect(page.html).toContain("1 of 3 users enrolled (33%)");
    const rows = textOf(page.html, "not-enrolled-rows");
    expect(rows).toContain(late.username);
    expect(rows).toContain("admin");
    expect(rows).not.toContain("carol");
    expect(rows).toMatch(/In grace · 2 days 23 hours left/);
    const deadline = new Date(now() + 3 * DAY_MS).toISOString().slice(0, 13);
    expect(page.html).toContain(`datetime="${deadline}`);

    const sent = await client.post("/ui/settings/security/mfa-status/reminders");
    expect(sent.status).toBe(200);
    expect(sent.html).toContain("Reminder emails queued for 2 users without MFA.");
    await client.post("/ui/settings/security/mfa-status/reminders");
    await client.post("/ui/settings/security/mfa-status/reminders");
    const fourth = await client.post("/ui/settings/security/mfa-status/reminders");
    expect(fourth.status).toBe(429);
    expect(fourth.html).toMatch(/Reminders can be sent three times a day. Try again in \d+ (days?|hours?)/);
    expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("Users lists MFA state, creates users, and reports bad input in place", async () => {
    const { tenantId, client } = await adminClient();
    await enrollMfa(await addUser(tenantId, { username: "dave" }));
    const page = await client.get("/ui/settings/users", { htmx: false });
    expect(textOf(page.html, "user-rows")).toMatch(/dave.*Member.*On/);
    expect(page.html).toContain("Reset MFA");

    const created = await client.post("/ui/settings/users", {
      username: "erin",
      email: "erin@example.com",
      password: "correct horse battery",
      role: "member",
    });
    expect(created.status).toBe(200);
    expect(created.html).toMatch(/^<div id="users-panel"/);
    expect(created.html).toContain("Created <strong>erin</strong>");
    expect(textOf(created.html, "user-rows")).toMatch(/erin.*Member.*Off/);
    const erin = { username: "erin", password: "correct horse battery", tenantId };
    expect((await login(erin)).status).toBe(200);

    const taken = await client.post("/ui/settings/users", {
      username: "ERIN",
      email: "other@example.com",
      password: "another password",
      role: "admin",
    });
    expect(taken.status).toBe(409);
    expect(taken.html).toContain("That username is already taken in this tenant.");
    expect(taken.html).toContain('value="ERIN"');
    expect(taken.html).toMatch(/<option value="admin" selected="">/);
    expect(taken.html).not.toContain("another password");

    const invalid = await client.post("/ui/settings/users", {
      username: "",
      email: "nope",
      password: "short",
    });
    expect(invalid.status).toBe(422);
    expect(invalid.html).toContain('aria-invalid="true"');
    expect(invalid.html).toContain("Enter an email address.");
    expect(invalid.html).toContain("Use 8 to 128 characters.");
  });

  it("Users counts a user just created at once", async () => {
    const { client } = await adminClient();
    const created = await client.post("/ui/settings/users", {
      username: "counted",
      email: "counted@example.com",
      password: "a long enough password",
      role: "member",
    });
    expect(created.status).toBe(200);
    expect(decode(created.html)).toContain("2 total · 0 with MFA");
  });

  it("Users asks a stale admin to confirm it is them before creating an admin, in the form", async () => {
    const { client, admin } = await adminClient();
    advanceClock(11 * 60_000);
    const form = {
      username: "deputy",
      email: "deputy@example.com",
      password: "a long enough password",
      role: "admin",
    };
    const asked = await client.post("/ui/settings/users", form);
    expect(asked.status).toBe(401);
    expect(decode(asked.html)).toContain("Confirm it's you");
    expect(asked.html).toMatch(/<input[^>]*name="confirm_password"[^>]*autocomplete="current-password"/);
    expect(asked.html).toContain('value="deputy"'); // what was typed is kept
    const wrong = await client.post("/ui/settings/users", { ...form, confirm_password: "nope" });
    expect(textOf(wrong.html, "confirm-password-error")).toBe("That password is not right.");
    const done = await client.post("/ui/settings/users", { ...form, confirm_password: admin.password });
    expect(done.status).toBe(200);
    expect(done.html).toContain("Created <strong>deputy</strong>");
  });

  it("Users resets a user's MFA after a confirmation: sessions end and the row says so", async () => {
    const { tenantId, client } = await adminClient();
    const frank = await enrollMfa(await addUser(tenantId, { username: "frank" }));
    const page = await client.get("/ui/settings/users", { htmx: false });
    const confirm = page.html.slice(page.html.indexOf(`id="user-${frank.user.id}"`));
    expect(confirm).toMatch(/<details class="confirm"><summary[^>]*>Reset MFA<\/summary>/);
    expect(decode(confirm)).toContain("Reset MFA for <strong>frank</strong>?");
    const reset = await client.post(`/ui/settings/users/${frank.user.id}/reset-mfa`);
    expect(reset.status).toBe(200);
    expect(reset.html).toMatch(/^<tr id="user-/);
    expect(reset.html).toContain("MFA reset");
    expect(reset.html).not.toContain("Reset MFA");
    expect((await call("GET", "/api/v1/auth/me", { token: frank.token })).status).toBe(401);
    expect((await login(frank)).json.token).toBeTypeOf("string");
    // A refusal goes above the list: swapped over the row, it would take the row with it.
    const missing = await client.post("/ui/settings/users/no-such-user/reset-mfa");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("hx-retarget")).toBe("#users-notice");
    expect(missing.html).toMatch(/^<div class="alert alert-error"/);
    expect(page.html).toContain('<div id="users-notice"');
  });

  it("pages through long lists with Load more", async () => {
    const { tenantId, client } = await adminClient();
    for (let i = 0; i < 26; i++) await addUser(tenantId, { username: `user-${String(i).padStart(2, "0")}` });
    const page = await client.get("/ui/settings/users", { htmx: false });
    const more = page.html.match(/hx-get="(\/ui\/settings\/users\/rows\?cursor=[^"]+)"/)?.[1];
    expect(more).toBeDefined();
    const next = await client.get(decode(more ?? ""));
    expect(next.status).toBe(200);
    expect(next.html).toMatch(/^<tr id="user-/);
    expect(next.html).toContain("user-25");
    expect(next.html).not.toContain("Load more");
  });

  it("the audit log shows events in words, with who did what to whom", async () => {
    const { tenantId, client } = await adminClient();
    const grace = await addUser(tenantId, { username: "gina" });
    await enrollMfa(grace);
    await client.post("/ui/settings/security", { mfa_required: "on", mfa_grace_period_days: "7" });
    await client.post(`/ui/settings/users/${grace.user.id}/reset-mfa`);
    const page = await client.get("/ui/audit", { htmx: false });
    expect(page.status).toBe(200);
    const text = decode(page.html)
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ");
    expect(text).toMatch(/Reset MFA\s+admin\s+gina/);
    expect(text).toMatch(/Changed security settings Require MFA: off → on · Grace period: 0 → 7 days admin/);
    expect(text).toMatch(/Turned on MFA\s+gina\s+gina/);
    expect(page.html.indexOf('data-action="mfa.reset"')).toBeLessThan(
      page.html.indexOf('data-action="mfa.enabled"'),
    );
  });
});
