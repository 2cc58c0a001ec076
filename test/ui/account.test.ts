// The account-life screens: Profile → Password and Sessions, forgot and reset password, and an
// admin's page for one user (role, deactivate, reset link, delete, sessions).
import { describe, expect, it } from "vitest";
import { addUser, createTenant } from "../helpers/factory";
import { callRecordingEmail, login, sessionToken } from "../helpers/http";
import { decode, signInUi, textOf, UiClient } from "./helpers";

const STRONG = "correct horse battery staple";

describe("Profile → Password", () => {
  it("changes the password, says so in place, and refuses a common one on its field", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const client = await signInUi(user);
    const profile = await client.get("/ui/profile", { htmx: false });
    expect(profile.html).toContain('id="password-card"');

    const weak = await client.post("/ui/profile/password", {
      current_password: user.password,
      new_password: "password123",
      confirm_password: "password123",
    });
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('id="new-password-error"');
    expect(textOf(weak.html, "new-password-error")).toMatch(/commonly used/);

    const differ = await client.post("/ui/profile/password", {
      current_password: user.password,
      new_password: STRONG,
      confirm_password: `${STRONG}.`,
    });
    expect(textOf(differ.html, "confirm-new-password-error")).toMatch(/differ/);

    const wrong = await client.post("/ui/profile/password", {
      current_password: "nope nope",
      new_password: STRONG,
      confirm_password: STRONG,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('id="current-password-error"');

    const done = await client.post("/ui/profile/password", {
      current_password: user.password,
      new_password: STRONG,
      confirm_password: STRONG,
    });
    expect(done.status).toBe(200);
    expect(decode(done.html)).toContain("Your password is changed");
    expect((await login({ ...user, password: STRONG })).status).toBe(200);
  });
});

describe("Profile → Sessions", () => {
  it("lists the sessions, and signs out one and then all the others", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const client = await signInUi(user);
    const other = await sessionToken(user);
    const third = await sessionToken(user);
    const profile = await client.get("/ui/profile", { htmx: false });
    const card = profile.html.slice(profile.html.indexOf('id="sessions-card"'));
    expect(card).toContain("This session");
    const ends = [...card.matchAll(/hx-post="(\/ui\/profile\/sessions\/[^"/]+\/end)"/g)]
      .map((m) => m[1] as string)
      .filter((path) => !path.includes("/others/"));
    expect(ends).toHaveLength(2);

    const one = await client.post(ends[0] as string);
    expect(decode(one.html)).toContain("That session has been signed out.");
    const alive = await Promise.all(
      [other, third].map(
        async (token) => (await callRecordingEmail("GET", "/api/v1/auth/me", { token })).status,
      ),
    );
    expect(alive.sort()).toEqual([200, 401]);

    const all = await client.post("/ui/profile/sessions/others/end");
    expect(decode(all.html)).toContain("Your other sessions have been signed out.");
    for (const token of [other, third]) {
      expect((await callRecordingEmail("GET", "/api/v1/auth/me", { token })).status).toBe(401);
    }
    expect((await client.get("/ui/profile", { htmx: false })).status).toBe(200);
  });
});

describe("forgot and reset password", () => {
  it("links from the sign-in page, answers the same for any account, and sets a password through the link", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const browser = new UiClient();
    const form = await browser.get("/ui/password/forgot", { htmx: false });
    expect(form.status).toBe(200);
    expect(form.html).toContain('name="tenant_id"');

    const asked = await callRecordingEmail("POST", "/api/v1/auth/password/forgot", {
      body: { tenant_id: tenantId, username: user.username },
    });
    const job = asked.sent.find((j) => j.kind === "password_reset");
    if (job?.kind !== "password_reset") throw new Error("no link sent");

    for (const username of [user.username, "nobody"]) {
      const answer = await browser.post(
        "/ui/password/forgot",
        { tenant_id: tenantId, username },
        { htmx: false },
      );
      expect(answer.status).toBe(200);
      expect(decode(answer.html)).toContain("If that account exists");
    }

    const page = await browser.get(`/ui/password/reset?token=${encodeURIComponent(job.token)}`, {
      htmx: false,
    });
    expect(page.status).toBe(200);
    expect(page.html).toContain(user.username);
    const weak = await browser.post(
      "/ui/password/reset",
      { token: job.token, new_password: "iloveyou1", confirm_password: "iloveyou1" },
      { htmx: false },
    );
    expect(weak.status).toBe(400);
    expect(textOf(weak.html, "reset-password-error")).toMatch(/commonly used/);
    const set = await browser.post(
      "/ui/password/reset",
      { token: job.token, new_password: STRONG, confirm_password: STRONG },
      { htmx: false },
    );
    expect(set.status).toBe(200);
    expect(decode(set.html)).toContain("Your password is set");
    expect(browser.cookie).toBeNull(); // signed nobody in
    const again = await browser.get(`/ui/password/reset?token=${encodeURIComponent(job.token)}`, {
      htmx: false,
    });
    expect(again.status).toBe(400);
    expect(again.html).toContain("This link has expired");
  });
});

describe("Settings → Users → a user", () => {
  it("changes the role, deactivates and reactivates, sends a link and deletes, each said in place", async () => {
    const { tenantId, admin } = await createTenant();
    const user = await addUser(tenantId);
    const client = await signInUi(admin);
    const list = await client.get("/ui/settings/users", { htmx: false });
    expect(list.html).toContain(`href="/ui/settings/users/${user.user.id}"`);
    const base = `/ui/settings/users/${user.user.id}`;
    const detail = await client.get(base, { htmx: false });
    expect(detail.status).toBe(200);
    expect(detail.html).toContain('id="user-detail"');

    const promoted = await client.post(`${base}/role`, { role: "admin" });
    expect(decode(promoted.html)).toContain(`${user.username} is now an admin.`);
    const deactivated = await client.post(`${base}/active`, { active: "false" });
    expect(decode(deactivated.html)).toContain("is deactivated and signed out everywhere");
    expect((await login(user)).status).toBe(401);
    const reactivated = await client.post(`${base}/active`, { active: "true" });
    expect(decode(reactivated.html)).toContain("is active again");
    expect((await login(user)).status).toBe(200);
    const link = await client.post(`${base}/password-reset`);
    expect(decode(link.html)).toContain("A password reset link is on its way");
    const ended = await client.post(`${base}/sessions/end`);
    expect(decode(ended.html)).toContain("signed out everywhere");

    const deleted = await client.post(`${base}/delete`);
    expect(deleted.redirect).toBe("/ui/settings/users?notice=deleted");
    expect((await client.get(base, { htmx: false })).status).toBe(404);
  });

  it("refuses to deactivate or demote the last admin, in place", async () => {
    const { admin } = await createTenant();
    const client = await signInUi(admin);
    const base = `/ui/settings/users/${admin.user.id}`;
    const page = await client.get(base, { htmx: false });
    expect(page.html).not.toContain(`${base}/active`); // no deactivate button for oneself
    const demote = await client.post(`${base}/role`, { role: "member" });
    expect(demote.status).toBe(409);
    expect(decode(demote.html)).toContain("must keep at least one active admin");
  });
});
