// Sign-in and sign-out through the /ui fragments the static sign-in page uses.

import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { advanceClock, now } from "../../src/clock";
import { tenants } from "../../src/db/schema";
import { addUser, createTenant, db } from "../helpers/factory";
import { call } from "../helpers/http";
import { enrollMfa, nextStep, STEP_MS, totpCode } from "../helpers/totp";
import { credentials, decode, manualKey, shownBackupCodes, signInUi, UiClient } from "./helpers";

async function newUser() {
  const { tenantId } = await createTenant();
  return addUser(tenantId);
}

describe("sign-in", () => {
  it("opens a session in a __Host- cookie (HttpOnly, Secure, SameSite=Strict, Path=/) and goes to Profile", async () => {
    const user = await newUser();
    const client = new UiClient();
    const response = await client.post("/ui/login", credentials(user));
    expect(response.status).toBe(200);
    expect(response.redirect).toBe("/ui/profile");
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-session=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).not.toMatch(/Domain=/i);
    const profile = await client.get("/ui/profile", { htmx: false });
    expect(profile.status).toBe(200);
    expect(profile.html).toContain(user.username);
  });

  it("answers a request that is not htmx's with a redirect, not a fragment", async () => {
    const user = await newUser();
    const response = await new UiClient().post("/ui/login", credentials(user), { htmx: false });
    expect(response.status).toBe(303);
    expect(response.redirect).toBe("/ui/profile");
  });

  it("answers a wrong password, user or tenant with one message, in place", async () => {
    const user = await newUser();
    const wrong = await new UiClient().post("/ui/login", {
      ...credentials(user),
      password: "not-the-password",
    });
    const unknown = await new UiClient().post("/ui/login", { ...credentials(user), username: "nobody-here" });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.html).toContain('role="alert"');
      expect(response.html).toContain("The username, password or tenant is not right.");
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect(unknown.html).toBe(wrong.html);
  });

  it("asks for the fields it needs, and takes the tenant in any case", async () => {
    const user = await newUser();
    const empty = await new UiClient().post("/ui/login", { username: "", password: "", tenant_id: "" });
    expect(empty.status).toBe(422);
    expect(empty.html).toContain("Enter your username, password and tenant.");
    const upper = await new UiClient().post("/ui/login", {
      ...credentials(user),
      tenant_id: ` ${user.tenantId.toUpperCase()} `,
    });
    expect(upper.redirect).toBe("/ui/profile");
  });

  it("asks for the code in a second step whose input is a one-time-code field, never echoing the password", async () => {
    const user = await enrollMfa(await newUser());
    const client = new UiClient();
    const step = await client.post("/ui/login", credentials(user));
    expect(step.status).toBe(200);
    expect(step.html).toContain('id="second-step"');
    expect(step.html).toMatch(/<input[^>]*name="mfa_code"[^>]*>/);
    const input = step.html.match(/<input[^>]*name="mfa_code"[^>]*>/)?.[0] ?? "";
    expect(input).toContain('autocomplete="one-time-code"');
    expect(input).toContain('inputmode="numeric"');
    expect(step.html).toContain('<label for="mfa-code">');
    expect(step.html).toContain("Use a backup code instead");
    expect(step.html).not.toContain(user.password);
    // No session yet: only the pending sign-in, in an HttpOnly cookie no script can read.
    expect(client.cookie).toBeNull();
    const pending = step.headers.getSetCookie().find((c) => c.startsWith("__Host-mfa=")) ?? "";
    expect(pending).toMatch(/^__Host-mfa=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(pending).toMatch(/Max-Age=(299|300);/);
    for (const attribute of [/; Path=\//, /; HttpOnly/, /; Secure/, /; SameSite=Strict/])
      expect(pending).toMatch(attribute);

    const done = await client.post("/ui/login", {
      username: user.username,
      tenant_id: user.tenantId,
      code_kind: "totp",
      mfa_code: await totpCode(user.secret),
    });
    expect(done.redirect).toBe("/ui/profile");
    expect(client.cookie).not.toBeNull();
    expect(client.cookies.has("__Host-mfa")).toBe(false);
  });

  it("takes the password out of the form after the first step: the second carries none", async () => {
    const user = await enrollMfa(await newUser());
    const step = await new UiClient().post("/ui/login", credentials(user));
    // htmx swaps this in place of the credentials (hx-swap-oob): username and tenant, no password.
    const swapped = step.html.match(/<div id="credentials" hx-swap-oob="true">(.*?)<\/div>/s)?.[1] ?? "";
    expect(swapped).toContain(`name="username" value="${user.username}"`);
    expect(swapped).toContain(`name="tenant_id" value="${user.tenantId}"`);
    expect(step.html).not.toMatch(/name="password"/);
    expect(step.html).not.toMatch(/type="password"/);
  });

  it("answers a second step without its pending sign-in (expired, another browser) with Start over", async () => {
    const user = await enrollMfa(await newUser());
    const stranger = new UiClient();
    const response = await stranger.post("/ui/login", {
      username: user.username,
      tenant_id: user.tenantId,
      code_kind: "totp",
      mfa_code: await totpCode(user.secret),
    });
    expect(response.status).toBe(401);
    expect(response.html).toContain("This sign-in has expired. Start over with your password.");
    expect(stranger.cookie).toBeNull();
  });

  it("signs in with a backup code, once", async () => {
    const user = await enrollMfa(await newUser());
    const toggle = await new UiClient().get("/ui/login/code?kind=backup");
    expect(toggle.html).toContain("Use your authenticator app instead");
    expect(toggle.html).toContain('value="backup"');
    const code = user.backupCodes[0] ?? "";
    const secondStep = {
      username: user.username,
      tenant_id: user.tenantId,
      code_kind: "backup",
      mfa_code: `${code.slice(0, 4)} ${code.slice(4)}`,
    };
    const first = new UiClient();
    await first.post("/ui/login", credentials(user));
    expect((await first.post("/ui/login", secondStep)).redirect).toBe("/ui/profile");
    const second = new UiClient();
    await second.post("/ui/login", credentials(user));
    const again = await second.post("/ui/login", secondStep);
    expect(again.status).toBe(401);
    expect(again.html).toContain('id="second-step"');
  });

  it("shows a wrong code in place, keeps the second step, and after five gives the wait time", async () => {
    const user = await enrollMfa(await newUser());
    const client = new UiClient();
    await client.post("/ui/login", credentials(user));
    const wrong = {
      username: user.username,
      tenant_id: user.tenantId,
      code_kind: "totp",
      mfa_code: "000000",
    };
    const first = await client.post("/ui/login", wrong);
    expect(first.status).toBe(401);
    expect(first.html).toContain('id="second-step"');
    expect(decode(first.html)).toContain("That code didn't work.");
    for (let i = 0; i < 4; i++) await client.post("/ui/login", wrong);
    const locked = await client.post("/ui/login", { ...wrong, mfa_code: await totpCode(user.secret) });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toBe("900");
    expect(locked.html).toContain("Too many attempts. Try again in 15 minutes.");
    expect(locked.html).toContain('id="second-step"');
    expect(client.cookie).toBeNull();
  });

  it("sends a user whose enrollment is due to enrollment with a narrow token, and verify there opens the session", async () => {
    const { tenantId } = await createTenant();
    await db
      .update(tenants)
      .set({ mfaRequired: true, mfaGracePeriodDays: 0, mfaEnforcedSince: now() - 1000 })
      .where(eq(tenants.id, tenantId));
    const user = await addUser(tenantId);
    const client = new UiClient();
    const login = await client.post("/ui/login", credentials(user));
    expect(login.redirect).toBe("/ui/enroll");
    expect(login.headers.get("set-cookie")).toMatch(/Max-Age=(899|900);/);
    // The enrollment token opens the enrollment page and nothing else.
    expect((await client.get("/ui/profile", { htmx: false })).redirect).toBe("/ui/enroll");
    const page = await client.get("/ui/enroll", { htmx: false });
    expect(page.status).toBe(200);
    expect(page.html).toContain("requires two-step verification");

    const setup = await client.post("/ui/mfa/setup", { flow: "enroll" });
    const secret = manualKey(setup.html);
    const verify = await client.post("/ui/mfa/verify", { flow: "enroll", code: await totpCode(secret) });
    expect(verify.status).toBe(200);
    expect(verify.headers.get("hx-retarget")).toBe("#mfa-card");
    expect(verify.headers.get("set-cookie")).toMatch(/Max-Age=4(3199|3200);/);
    expect(shownBackupCodes(verify.html)).toHaveLength(10);
    expect(verify.html).toContain("They will not be shown again.");
    expect(verify.html).toContain("Continue to your account");
    expect((await client.get("/ui/profile", { htmx: false })).status).toBe(200);
  });

  it("signs out: the cookie is cleared and the session it held is over", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    const token = client.cookie ?? "";
    const logout = await client.post("/ui/logout", {}, { htmx: false });
    expect(logout.status).toBe(303);
    expect(logout.redirect).toBe("/?signed-out");
    expect(logout.headers.get("set-cookie")).toMatch(/__Host-session=; Max-Age=0/);
    expect(client.cookie).toBeNull();
    // The old token is refused everywhere, by cookie and as a bearer token.
    const stale = new UiClient();
    stale.cookie = token;
    expect((await stale.get("/ui/profile", { htmx: false })).redirect).toBe("/");
    expect((await call("GET", "/api/v1/auth/me", { token })).status).toBe(401);
  });

  it("an expired session sends htmx requests back to sign-in", async () => {
    const user = await newUser();
    const client = await signInUi(user);
    advanceClock(12 * 60 * 60 * 1000 + STEP_MS);
    nextStep();
    const response = await client.post("/ui/mfa/setup", { flow: "enable" });
    expect(response.redirect).toBe("/");
    expect(response.status).toBe(200);
  });
});
