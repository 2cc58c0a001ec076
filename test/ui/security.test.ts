// The browser-facing rules of security.md: cross-origin unsafe requests refused, no state change by
// GET, a CSP the markup keeps (no inline script or style anywhere), labelled fields, no caching.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import loginPage from "../../public/index.html?raw";
import { now } from "../../src/clock";
import { tenants } from "../../src/db/schema";
import { SESSION_COOKIE } from "../../src/middleware/session";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, callRecordingEmail, ORIGIN } from "../helpers/http";
import { enrollMfa, totpCode } from "../helpers/totp";
import { instrumentedEnv } from "../robustness/bindings";
import { credentials, manualKey, signInUi, UiClient, type UiResponse } from "./helpers";

describe("cross-origin requests", () => {
  it("refuses a sign-in posted from another site, before any cookie is set", async () => {
    const { admin } = await createTenant();
    const crossSite: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
      { origin: "null" },
    ];
    for (const headers of crossSite) {
      const response = await new UiClient().post("/ui/login", credentials(admin), { htmx: false, headers });
      expect(response.status).toBe(403);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    // A form whose request shows neither Origin nor Sec-Fetch-Site does not sign anyone in either.
    const hidden = await new UiClient().post("/ui/login", credentials(admin), { htmx: false, origin: null });
    expect(hidden.status).toBe(403);
    expect(hidden.headers.get("set-cookie")).toBeNull();
    const sameOrigin = await new UiClient().post("/ui/login", credentials(admin), {
      headers: { origin: "http://localhost", "sec-fetch-site": "same-origin" },
    });
    expect(sameOrigin.redirect).toBe("/ui/profile");
  });

  it("refuses a cross-origin MFA change even with the session cookie", async () => {
    const { tenantId } = await createTenant();
    const user = await enrollMfa(await addUser(tenantId));
    const browser = new UiClient();
    await browser.post("/ui/login", credentials(user));
    await browser.post("/ui/login", {
      ...credentials(user),
      code_kind: "totp",
      mfa_code: await totpCode(user.secret),
    });
    expect(browser.cookie).not.toBeNull();
    const forged = await browser.post(
      "/ui/mfa/disable",
      { code: user.backupCodes[0] ?? "" },
      { headers: { origin: "https://evil.example" } },
    );
    expect(forged.status).toBe(403);
    expect((await call("GET", "/api/v1/mfa/status", { token: user.token })).json.mfa_enabled).toBe(true);
  });

  it("changes nothing by GET: the state-changing routes answer only POST", async () => {
    const { admin } = await createTenant();
    const client = await signInUi(admin);
    for (const path of [
      "/ui/logout",
      "/ui/mfa/setup",
      "/ui/mfa/disable",
      "/ui/settings/security/mfa-status/reminders",
    ]) {
      const response = await client.get(path, { htmx: false });
      expect([404, 405]).toContain(response.status);
    }
    expect((await client.get("/ui/profile", { htmx: false })).status).toBe(200);
  });

  it("answers a body that is not a form, or a form that does not parse, with a 4xx", async () => {
    const post = (type: string, body: string) =>
      new UiClient().send("POST", "/ui/login", { htmx: false, headers: { "content-type": type }, body });
    expect((await post("text/plain", "username=a")).status).toBe(415);
    expect((await post("application/json", '{"username":"a"}')).status).toBe(415);
    expect((await post("multipart/form-data", "--x\r\nnot a part")).status).toBe(400);
    expect((await post("multipart/form-data; boundary=x", "garbage without parts")).status).toBe(400);
  });

  it("refuses a form body over 16 KiB", async () => {
    const response = await new UiClient().post("/ui/login", {
      username: "x".repeat(20_000),
      password: "p",
      tenant_id: "t",
    });
    expect(response.status).toBe(413);
  });
});

describe("markup and headers", () => {
  /** Every kind of page and fragment the UI serves, from one tenant's admin and one blocked user. */
  async function everyScreen(): Promise<[string, UiResponse][]> {
    const { tenantId, admin } = await createTenant();
    await enrollMfa(await addUser(tenantId));
    const client = await signInUi(admin);
    const screens: [string, UiResponse][] = [];
    const keep = async (name: string, response: Promise<UiResponse>) => screens.push([name, await response]);
    await keep("profile", client.get("/ui/profile", { htmx: false }));
    const setup = await client.post("/ui/mfa/setup", { flow: "enable" });
    screens.push(["setup", setup]);
    const setupHtml = setup.html;
    await keep("verify-error", client.post("/ui/mfa/verify", { flow: "enable", code: "1" }));
    await keep(
      "backup-codes",
      client.post("/ui/mfa/verify", { flow: "enable", code: await totpCode(manualKey(setupHtml)) }),
    );
    await keep("profile-on", client.get("/ui/profile", { htmx: false }));
    await keep("security", client.get("/ui/settings/security", { htmx: false }));
    await keep(
      "preview",
      client.get("/ui/settings/security/preview?mfa_required=on&mfa_grace_period_days=3"),
    );
    await keep(
      "saved",
      client.post("/ui/settings/security", { mfa_required: "on", mfa_grace_period_days: "3" }),
    );
    await keep("status", client.get("/ui/settings/security/mfa-status", { htmx: false }));
    await keep("reminders", client.post("/ui/settings/security/mfa-status/reminders"));
    await keep("users", client.get("/ui/settings/users", { htmx: false }));
    await keep("user-error", client.post("/ui/settings/users", { username: "", email: "", password: "" }));
    await keep("audit", client.get("/ui/audit", { htmx: false }));
    await keep("not-found", client.post("/ui/settings/users/nobody/reset-mfa", {}, { htmx: false }));
    await keep("second-step", new UiClient().get("/ui/login/code?kind=backup"));
    const member = await addUser(tenantId);
    await keep("user-detail", client.get(`/ui/settings/users/${member.user.id}`, { htmx: false }));
    await keep("forgot", new UiClient().get("/ui/password/forgot", { htmx: false }));
    await keep(
      "forgot-sent",
      new UiClient().post("/ui/password/forgot", { tenant_id: tenantId, username: "x" }),
    );
    const asked = await callRecordingEmail("POST", "/api/v1/auth/password/forgot", {
      body: { tenant_id: tenantId, username: member.username },
    });
    const link = asked.sent.find((job) => job.kind === "password_reset");
    if (link?.kind !== "password_reset") throw new Error("no reset link sent");
    await keep("reset", new UiClient().get(`/ui/password/reset?token=${link.token}`, { htmx: false }));
    await keep(
      "login-error",
      new UiClient().post("/ui/login", { username: "a", password: "b", tenant_id: "cc" }),
    );
    // A user who must enroll now.
    await db
      .update(tenants)
      .set({ mfaGracePeriodDays: 0, mfaEnforcedSince: now() - 1 })
      .where(eq(tenants.id, tenantId));
    const late = await addUser(tenantId);
    const blocked = new UiClient();
    await blocked.post("/ui/login", credentials(late));
    await keep("enroll", blocked.get("/ui/enroll", { htmx: false }));
    return screens;
  }

  it("have no inline script, inline style, style attribute or event handler, under a strict CSP and no-store", async () => {
    const screens = await everyScreen();
    expect(screens.length).toBeGreaterThan(15);
    const static_: [string, string][] = [["index.html", loginPage]];
    for (const [name, html] of [...screens.map(([n, r]) => [n, r.html] as [string, string]), ...static_]) {
      expect(html, name).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
      expect(html, name).not.toMatch(/<style/i);
      expect(html, name).not.toMatch(/\sstyle=/i);
      expect(html, name).not.toMatch(/\son[a-z]+=/i);
      expect(html, name).not.toMatch(/javascript:/i);
      expect(html, name).not.toMatch(/https?:\/\//); // every script, style and link is our own origin
      // Forms post through htmx: its requests carry the Origin the server checks. (A plain form post
      // under Referrer-Policy: no-referrer sends "Origin: null", which is refused like another site.)
      for (const form of html.match(/<form\b[^>]*>/g) ?? []) {
        expect(form, name).toMatch(/\shx-post="/);
        expect(form, name).toMatch(/\smethod="post"/);
      }
    }
    for (const [name, response] of screens) {
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, name).toContain("script-src 'self'");
      expect(csp, name).toContain("style-src 'self'");
      expect(csp, name).toContain("frame-ancestors 'none'");
      expect(csp, name).not.toContain("unsafe-inline");
      expect(response.headers.get("cache-control"), name).toBe("no-store");
      expect(response.headers.get("x-content-type-options"), name).toBe("nosniff");
    }
  });

  it("label every field, and make every code input a numeric one-time-code field", async () => {
    const screens = await everyScreen();
    const pages: [string, string][] = [
      ...screens.map(([n, r]) => [n, r.html] as [string, string]),
      ["index.html", loginPage],
    ];
    let codeInputs = 0;
    for (const [name, html] of pages) {
      for (const input of html.match(/<(input|select)\b[^>]*>/g) ?? []) {
        if (/type="hidden"/.test(input)) continue;
        const id = input.match(/\sid="([^"]+)"/)?.[1];
        expect(id, `${name}: ${input}`).toBeDefined();
        expect(html, `${name}: label for ${id}`).toContain(`<label for="${id}">`);
        if (/name="(code|mfa_code)"/.test(input)) {
          codeInputs += 1;
          expect(input, name).toContain('autocomplete="one-time-code"');
          expect(input, name).toContain('inputmode="numeric"');
        }
      }
    }
    expect(codeInputs).toBeGreaterThan(4);
  });
});

describe("a storage outage", () => {
  // The UI maps errors with the API's own mapping: 503 unavailable, never a 500.
  const broken = () => instrumentedEnv({ faultAt: () => ({ kind: "fail" }) });

  it("answers a signed-in page with 503 and says to try again", async () => {
    const { tenantId } = await createTenant();
    const client = await signInUi(await addUser(tenantId));
    const response = await broken().fetch(
      new Request(`${ORIGIN}/ui/profile`, { headers: { cookie: `${SESSION_COOKIE}=${client.cookie}` } }),
    );
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("temporarily unavailable");
  });

  it("answers a sign-in form with 503 in place", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const response = await broken().fetch(
      new Request(`${ORIGIN}/ui/login`, {
        method: "POST",
        headers: {
          origin: ORIGIN,
          "hx-request": "true",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams(credentials(user)).toString(),
      }),
    );
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("temporarily unavailable");
  });
});
