// An admin requires MFA with a grace period (seeing the consequence before saving), a user in grace
// sees the countdown, a user created afterwards is forced through enrollment, and the admin watches
// the dashboard, sends reminders, resets a user's MFA and reads the audit log.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Authenticator,
  apiToken,
  createUserByApi,
  type E2eUser,
  enrollByApi,
  launchBrowser,
  PAGE_OVERFLOW,
  Person,
  PHONE,
  readBackupCodes,
  readManualKey,
  tenant,
  tenantAdmin,
  visibleText,
} from "./helpers";

let browser: Browser;
let admin: Person;
let acmeAdmin: E2eUser;
let graceUser: E2eUser;
let enrolledUser: E2eUser;

beforeAll(async () => {
  browser = await launchBrowser();
  const acme = tenant("acme");
  acmeAdmin = tenantAdmin("acme");
  const token = await apiToken(acmeAdmin);
  // Both exist before enforcement starts: one without MFA (grace), one with it.
  graceUser = await createUserByApi(token, acme.tenantId, "grace");
  enrolledUser = await createUserByApi(token, acme.tenantId, "erin");
  await enrollByApi(enrolledUser);
  admin = await Person.open(browser);
  await admin.signIn(acmeAdmin);
  await admin.page.waitForURL("**/ui/profile");
});

afterAll(async () => {
  await admin?.close();
  await browser?.close();
});

describe("an admin requiring MFA", () => {
  it("creates a user in Settings → Users", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("link", { name: "Users" }).click();
    await page.waitForURL("**/ui/settings/users");
    await page.getByLabel("Username").fill("dan");
    await page.getByLabel("Email").fill("dan@acme.example");
    await page.getByLabel("Initial password").fill("dan-initial-password");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByText("Created dan.").waitFor();
    expect(await visibleText(page.locator("#user-rows"))).toMatch(/dan[\s\S]*Member[\s\S]*Off/);
    await admin.screenshot("users");
  });

  it("sees what requiring MFA would do before saving, then saves it with a grace period", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Security" }).click();
    await page.waitForURL("**/ui/settings/security");
    expect(await visibleText(page.locator("#impact-preview"))).toContain(
      "MFA is optional. 1 of 4 users have it on.",
    );
    await page.getByLabel("Require MFA for all users").check();
    await page.getByLabel("Grace period (days)").fill("7");
    await expect
      .poll(() => visibleText(page.locator("#impact-preview")))
      .toMatch(/IF YOU SAVE NOW[\s\S]*0 users are blocked[\s\S]*3 users in grace until/i);
    await admin.screenshot("security-preview");
    // Nothing is saved yet.
    const settings = await fetch(`${page.url().replace(/\/ui\/.*/, "")}/api/v1/tenants/acme/settings`, {
      headers: { authorization: `Bearer ${await apiToken(acmeAdmin)}` },
    });
    expect(((await settings.json()) as { mfa_required: boolean }).mfa_required).toBe(false);

    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved. The new settings apply from now on.").waitFor();
    // The admin has no MFA either: their own countdown appears at once.
    await page.locator("#grace-banner .countdown").waitFor();
    expect(await visibleText(page.locator("#security-card"))).toContain("Required since");
    await admin.screenshot("security-saved");
  });

  it("shows people in grace a live countdown to their deadline on every page", async () => {
    const person = await Person.open(browser);
    const { page } = person;
    await person.signIn(graceUser);
    await page.waitForURL("**/ui/profile");
    const countdown = page.locator("#grace-banner .countdown");
    await expect.poll(() => visibleText(countdown)).toMatch(/^6 days 23 hours$/);
    const deadline = Date.parse((await countdown.getAttribute("data-countdown-to")) ?? "");
    expect(deadline - Date.now()).toBeGreaterThan(7 * 86_400_000 - 120_000);
    await person.screenshot("grace-banner");
    // The countdown is live (public/js/app.js): near a deadline the seconds tick.
    await countdown.evaluate((element) =>
      element.setAttribute("data-countdown-to", new Date(Date.now() + 90_000).toISOString()),
    );
    await expect.poll(() => visibleText(countdown)).toMatch(/^1 minute \d+ seconds$/);
    const first = await visibleText(countdown);
    await expect.poll(() => visibleText(countdown), { timeout: 5000 }).not.toBe(first);
    // The admin, who has no MFA either, sees it on the admin pages too.
    await admin.page.reload();
    expect(await admin.page.locator("#grace-banner").isVisible()).toBe(true);
    await person.close();

    const phone = await Person.open(browser, PHONE);
    await phone.signIn(graceUser);
    await phone.page.waitForURL("**/ui/profile");
    const overflow = await phone.page.evaluate(PAGE_OVERFLOW);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot("phone-profile-banner");
    await phone.close();
  });

  it("forces a user created after enforcement began through enrollment", async () => {
    const token = await apiToken(acmeAdmin);
    const newbie = await createUserByApi(token, "acme", "newbie");
    // Another newcomer who has not signed in yet: the dashboard will show them as due now.
    await createUserByApi(token, "acme", "fiona");
    const person = await Person.open(browser);
    const { page } = person;
    await person.signIn(newbie);
    await page.waitForURL("**/ui/enroll");
    await person.screenshot("enrollment");
    // Nothing else opens until they enroll.
    await page.goto("/ui/profile");
    await page.waitForURL("**/ui/enroll");
    await page.getByRole("button", { name: "Start setup" }).click();
    const authenticator = new Authenticator(await readManualKey(page));
    await person.screenshot("enrollment-setup");
    await page.getByLabel("Code from the app").fill(await authenticator.code());
    await page.getByRole("button", { name: "Verify and turn on" }).click();
    await page.getByRole("heading", { name: "Two-step verification is on" }).waitFor();
    await readBackupCodes(page);
    await page.getByRole("link", { name: "Continue to your account" }).click();
    await page.waitForURL("**/ui/profile");
    expect(await visibleText(page.locator("#mfa-card .pill"))).toBe("On");
    expect(await page.locator("#grace-banner").isVisible()).toBe(false);
    await person.close();
  });

  it("follows enrollment on MFA Status and sends reminder emails in one click", async () => {
    const { page } = admin;
    await page.goto("/ui/settings/security/mfa-status");
    expect(await visibleText(page.locator("[data-stat='total']"))).toBe("6");
    expect(await visibleText(page.locator("[data-stat='enrolled']"))).toBe("2");
    expect(await page.locator("#enrollment-progress").getAttribute("value")).toBe("2");
    expect(await page.getByText("2 of 6 users enrolled (33%)").isVisible()).toBe(true);
    const rows = await visibleText(page.locator("#not-enrolled-rows"));
    expect(rows).toMatch(/grace@acme\.example[\s\S]*In grace · 6 days 23 hours left/);
    expect(rows).toMatch(/dan@acme\.example[\s\S]*In grace/);
    expect(rows).toMatch(/fiona@acme\.example[\s\S]*Must enroll at sign-in/);
    expect(rows).not.toContain("erin");
    expect(rows).not.toContain("newbie");
    await page.getByRole("button", { name: "Send reminder emails" }).click();
    await page.getByText("Reminder emails queued for 4 users without MFA.").waitFor();
    await admin.screenshot("mfa-status-reminders");
  });

  it("resets a user's MFA after confirming, and that user must enroll again", async () => {
    const { page } = admin;
    await page.goto("/ui/settings/users");
    const row = page.locator("tr", { hasText: "erin@acme.example" });
    const reset = row.locator("summary", { hasText: "Reset MFA" });
    await reset.click();
    await row.getByText("Reset MFA for erin?").waitFor();
    await admin.screenshot("users-reset-confirm");
    await row.getByRole("button", { name: "Cancel" }).click();
    expect(await row.getByText("Reset MFA for erin?").isVisible()).toBe(false);
    await reset.click();
    await row.getByRole("button", { name: "Yes, reset MFA" }).click();
    const updated = page.locator("tr", { hasText: "erin@acme.example" });
    await updated.getByText("MFA reset").waitFor();
    expect(await visibleText(updated)).toMatch(/Off · must enroll/);
    await admin.screenshot("users-reset-done");

    const erin = await Person.open(browser);
    await erin.signIn(enrolledUser);
    await erin.page.waitForURL("**/ui/enroll");
    await erin.close();
  });

  it("reads what happened in the audit log", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.waitForURL("**/ui/audit");
    const log = await visibleText(page.locator("table"));
    expect(log).toMatch(/Reset MFA\s+admin\s+erin/);
    expect(log).toMatch(/Sent MFA reminder emails/);
    expect(log).toMatch(/Changed security settings\s+Require MFA: off → on · Grace period: 0 → 7 days/);
    expect(log).toMatch(/Turned on MFA\s+newbie\s+newbie/);
    await admin.screenshot("audit-log");
  });

  it("fits a phone's width on the admin screens too", async () => {
    const phone = await Person.open(browser, PHONE);
    await phone.signIn(acmeAdmin);
    await phone.page.waitForURL("**/ui/profile");
    for (const [path, name] of [
      ["/ui/settings/security", "phone-security"],
      ["/ui/settings/security/mfa-status", "phone-mfa-status"],
      ["/ui/settings/users", "phone-users"],
    ] as const) {
      await phone.page.goto(path);
      expect(await phone.page.evaluate(PAGE_OVERFLOW)).toBeLessThanOrEqual(0);
      await phone.screenshot(name);
    }
    await phone.close();
  });
});
