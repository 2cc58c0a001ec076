// Passkeys in a real browser: Chromium's virtual authenticator (DevTools protocol: ctap2, internal
// transport, resident keys, user verification on) makes and uses real credentials against the
// server. A person adds a passkey in Profile, signs in with password and passkey, then with the
// passkey alone, and removes it; a new user under enforcement enrolls with a passkey, not TOTP.
import type { Browser, CDPSession } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  apiToken,
  createUserByApi,
  type E2eUser,
  enrollByApi,
  launchBrowser,
  Person,
  readBackupCodes,
  tenant,
  tenantAdmin,
  visibleText,
} from "./helpers";

let browser: Browser;
let adminToken: string;
let pia: E2eUser;
let person: Person;
let authenticator: { cdp: CDPSession; id: string };

/** A platform authenticator that verifies its user (a fingerprint, say) on every ceremony. */
async function addVirtualAuthenticator(someone: Person) {
  const cdp = await someone.context.newCDPSession(someone.page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

async function credentialsOn(device: { cdp: CDPSession; id: string }) {
  const { credentials } = await device.cdp.send("WebAuthn.getCredentials", { authenticatorId: device.id });
  return credentials;
}

beforeAll(async () => {
  browser = await launchBrowser();
  const globex = tenant("globex");
  const admin = tenantAdmin("globex");
  adminToken = await apiToken(admin);
  pia = await createUserByApi(adminToken, globex.tenantId, "pia");
  person = await Person.open(browser);
  authenticator = await addVirtualAuthenticator(person);
});

afterAll(async () => {
  await person?.close();
  await browser?.close();
});

describe("a person and their passkey", () => {
  it("adds a passkey in Profile: MFA turns on and backup codes are shown once", async () => {
    const { page } = person;
    await person.signIn(pia);
    await page.waitForURL("**/ui/profile");
    const card = page.locator("#passkeys-card");
    await card.getByLabel("Name").fill("Work laptop");
    await person.screenshot("profile-passkeys-empty");
    await card.getByRole("button", { name: "Add a passkey" }).click();
    expect(await readBackupCodes(page)).toHaveLength(10);
    await expect.poll(() => visibleText(page.locator("#mfa-card h2"))).toBe("Two-step verification is on");
    await person.screenshot("profile-passkey-added");
    // A discoverable credential, for this site, on the authenticator.
    const [credential] = await credentialsOn(authenticator);
    expect(credential).toMatchObject({ isResidentCredential: true, rpId: "localhost" });

    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL("**/ui/profile");
    await expect.poll(() => visibleText(page.locator("#passkeys-card .passkey"))).toContain("Work laptop");
    await expect.poll(() => visibleText(page.locator("#mfa-card .pill"))).toBe("On");
    await person.screenshot("profile-passkeys");
  });

  it("signs in with the password and the passkey as the second step, offered first", async () => {
    const { page } = person;
    await person.signOut();
    await person.signIn(pia);
    const step = page.locator("#second-step");
    await step.waitFor();
    await expect.poll(() => visibleText(step.locator("h2"))).toBe("Use your passkey");
    // The password left the page with the first step.
    expect(await page.locator("input[type=password]").count()).toBe(0);
    // Pia has no authenticator app: the other way offered is a backup code.
    await expect.poll(() => visibleText(step.locator(".step-links"))).not.toContain("authenticator app");
    await person.screenshot("sign-in-passkey-step");
    await step.getByRole("button", { name: "Use your passkey" }).click();
    await page.waitForURL("**/ui/profile");
    const [credential] = await credentialsOn(authenticator);
    expect(credential?.signCount).toBeGreaterThan(1);
  });

  it("signs in with the passkey alone: no password, no code", async () => {
    const { page } = person;
    await person.signOut();
    await page.getByLabel("Tenant").fill(pia.tenantId);
    await person.screenshot("sign-in-with-passkey");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL("**/ui/profile");
    await expect
      .poll(() => visibleText(page.locator("#passkeys-card .passkey")))
      .toMatch(/Last used(?! never)/);
  });

  it("removes the passkey, confirming with it; the last factor gone, MFA is off", async () => {
    const { page } = person;
    const row = page.locator("#passkeys-card .passkey").first();
    await row.locator("summary").click();
    await person.screenshot("profile-passkey-remove");
    await row.getByRole("button", { name: "Remove, confirming with a passkey" }).click();
    await page.waitForURL("**/ui/profile?notice=mfa-disabled");
    expect(await page.locator("#passkeys-card .passkey").count()).toBe(0);
    await expect.poll(() => visibleText(page.locator("#mfa-card .pill"))).toBe("Off");
    const status = await api("/mfa/status", { token: await apiToken(pia) });
    expect(status.json.mfa_enabled).toBe(false);
  });
});

describe("enrolling with a passkey under enforcement", () => {
  it("a new user whose MFA is due sets up a passkey instead of an authenticator app", async () => {
    const globex = tenant("globex");
    const admin = tenantAdmin("globex");
    // Turning enforcement on needs an admin with MFA: enrolling ends the admin's other sessions.
    const adminApp = await enrollByApi(admin);
    const first = await api("/auth/login", {
      method: "POST",
      body: { username: admin.username, password: admin.password, tenant_id: admin.tenantId },
    });
    const second = await api("/auth/login", {
      method: "POST",
      body: {
        username: admin.username,
        tenant_id: admin.tenantId,
        mfa_token: first.json.mfa_token,
        mfa_code: await adminApp.code(),
      },
    });
    const token = second.json.token as string;
    const quin = await createUserByApi(token, globex.tenantId, "quin");
    const settings = await api(`/tenants/${globex.tenantId}/settings`, {
      method: "PATCH",
      token,
      body: { mfa_required: true, mfa_grace_period_days: 0 },
    });
    expect(settings.status, JSON.stringify(settings.json)).toBe(200);

    const newcomer = await Person.open(browser);
    const device = await addVirtualAuthenticator(newcomer);
    const { page } = newcomer;
    await newcomer.signIn(quin);
    await page.waitForURL("**/ui/enroll");
    await newcomer.screenshot("enrollment-passkey");
    await page.getByRole("button", { name: "Use a passkey instead" }).click();
    expect(await readBackupCodes(page)).toHaveLength(10);
    await page.getByRole("link", { name: "Continue to your account" }).click();
    await page.waitForURL("**/ui/profile");
    expect(await credentialsOn(device)).toHaveLength(1);

    // Enforcement is met by the passkey alone: the next sign-in asks for nothing after it.
    await newcomer.signOut();
    await page.getByLabel("Tenant").fill(quin.tenantId);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL("**/ui/profile");
    await newcomer.close();
  });
});
