// A person turns MFA on from Profile with the key the page shows, signs out, signs back in with a
// code and with a backup code, moves to a new device, and turns MFA off again.
import { readFileSync } from "node:fs";
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
let alice: E2eUser;
let person: Person;
let authenticator: Authenticator;
let backupCodes: string[];

beforeAll(async () => {
  browser = await launchBrowser();
  const initech = tenant("initech");
  const adminToken = await apiToken(tenantAdmin("initech"));
  alice = await createUserByApi(adminToken, initech.tenantId, "alice");
  person = await Person.open(browser);
});

afterAll(async () => {
  await person?.close();
  await browser?.close();
});

describe("a person and their MFA", () => {
  it("signs in with a password and sees MFA off on Profile", async () => {
    const { page } = person;
    await page.goto("/");
    await expect.poll(() => page.title()).toBe("Sign in · Infracast");
    await person.screenshot("sign-in");
    await person.signIn(alice);
    await page.waitForURL("**/ui/profile");
    // The session cookie is the __Host- one, out of reach of scripts.
    const [cookie] = await person.context.cookies();
    expect(cookie).toMatchObject({
      name: "__Host-session",
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
    });
    await expect.poll(() => visibleText(page.locator("#mfa-card .pill"))).toBe("Off");
    await person.screenshot("profile-mfa-off");
  });

  it("fills in the tenant from a reminder email's link", async () => {
    const stranger = await Person.open(browser);
    await stranger.page.goto(`/?tenant=${alice.tenantId}`);
    expect(await stranger.page.getByLabel("Tenant").inputValue()).toBe(alice.tenantId);
    await stranger.close();
  });

  it("finds Profile in the user menu", async () => {
    const { page } = person;
    await page.locator(".user-menu summary").click();
    await expect.poll(() => page.locator(".menu").isVisible()).toBe(true);
    await person.screenshot("user-menu");
    await page.locator(".menu").getByRole("link", { name: "Profile" }).click();
    await page.waitForURL("**/ui/profile");
  });

  it("enables MFA from the key beside the QR code, then gets the backup codes once", async () => {
    const { page } = person;
    await page.getByRole("button", { name: "Enable MFA" }).click();
    await page.locator("#manual-key").waitFor();
    await expect
      .poll(() => page.locator("img.qr").evaluate((img: { naturalWidth: number }) => img.naturalWidth))
      .toBeGreaterThan(100);
    const key = await readManualKey(page);
    authenticator = new Authenticator(key);
    await person.screenshot("profile-enable-mfa");

    // A wrong code is answered in place; the QR code and the key stay.
    await page.getByLabel("Code from the app").fill("000000");
    await page.getByRole("button", { name: "Verify and turn on" }).click();
    await page.getByRole("alert").waitFor();
    expect(await visibleText(page.getByRole("alert"))).toContain("That code didn't work.");
    expect(await readManualKey(page)).toBe(key);
    await person.screenshot("profile-enable-mfa-wrong-code");

    await page.getByLabel("Code from the app").fill(await authenticator.code());
    await page.getByRole("button", { name: "Verify and turn on" }).click();
    await page.getByRole("heading", { name: "Two-step verification is on" }).waitFor();
    backupCodes = await readBackupCodes(page);
    expect(await visibleText(page.locator(".alert-warning"))).toContain("They will not be shown again.");
    await person.screenshot("profile-backup-codes");

    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download as text" }).click();
    const file = await (await download).path();
    const text = readFileSync(file, "utf8");
    for (const code of backupCodes) expect(text).toContain(`${code.slice(0, 4)} ${code.slice(4)}`);
    expect((await download).suggestedFilename()).toBe("infracast-backup-codes.txt");

    await page.getByRole("button", { name: "Copy codes" }).click();
    await expect
      .poll(() => page.evaluate<string>("navigator.clipboard.readText()"))
      .toContain(backupCodes[0]?.slice(0, 4));

    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL("**/ui/profile");
    expect(await visibleText(page.locator("#mfa-card .pill"))).toBe("On");
    expect(await visibleText(page.locator("#backup-codes-remaining"))).toContain("10 of 10 remaining");
    // The codes are gone for good: Profile shows how many are left, never the codes.
    expect(await page.content()).not.toContain(backupCodes[0]);
    await person.screenshot("profile-mfa-on");
  });

  it("signs out, and back in with a code from the authenticator", async () => {
    const { page } = person;
    await person.signOut();
    expect(await page.getByText("You have signed out.").isVisible()).toBe(true);
    expect(await person.context.cookies()).toEqual([]);
    await person.signIn(alice);
    const code = page.getByLabel("Authentication code");
    await code.waitFor();
    expect(await code.getAttribute("autocomplete")).toBe("one-time-code");
    expect(await code.getAttribute("inputmode")).toBe("numeric");
    // The second step has the focus, and the password has left the page: no field holds it, and
    // the pending sign-in is a cookie no script can read.
    await expect.poll(() => code.evaluate((input) => input === input.ownerDocument.activeElement)).toBe(true);
    expect(await page.locator('input[type="password"], input[name="password"]').count()).toBe(0);
    expect(await page.content()).not.toContain(alice.password);
    const pending = (await person.context.cookies()).find((cookie) => cookie.name === "__Host-mfa");
    expect(pending).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    await person.screenshot("sign-in-code");
    await code.fill(await authenticator.code());
    await page.keyboard.press("Enter");
    await page.waitForURL("**/ui/profile");
  });

  it("signs in with a backup code instead", async () => {
    const { page } = person;
    await person.signOut();
    await person.signIn(alice);
    await page.getByRole("button", { name: "Use a backup code instead" }).click();
    const field = page.getByLabel("Backup code");
    await field.waitFor();
    await person.screenshot("sign-in-backup-code");
    await field.fill(backupCodes[0] ?? "");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL("**/ui/profile");
    expect(await visibleText(page.locator("#backup-codes-remaining"))).toContain("9 of 10 remaining");

    // That code is spent.
    await person.signOut();
    await person.signIn(alice);
    await page.getByRole("button", { name: "Use a backup code instead" }).click();
    await page.getByLabel("Backup code").fill(backupCodes[0] ?? "");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("alert").waitFor();
    expect(await visibleText(page.getByRole("alert"))).toContain("That code didn't work.");
    await page.getByRole("button", { name: "Use your authenticator app instead" }).click();
    await page.getByLabel("Authentication code").fill(await authenticator.code());
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL("**/ui/profile");
  });

  it("regenerates the backup codes with a backup code", async () => {
    const { page } = person;
    const panel = page.locator("details[data-action='regenerate']");
    await panel.locator("summary").click();
    await panel.getByLabel("Current code from your app, or a backup code").fill(backupCodes[1] ?? "");
    await panel.getByRole("button", { name: "Generate new codes" }).click();
    await page.getByRole("heading", { name: "New backup codes" }).waitFor();
    const fresh = await readBackupCodes(page);
    expect(fresh).not.toContain(backupCodes[2]);
    backupCodes = fresh;
    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL("**/ui/profile");
    expect(await visibleText(page.locator("#backup-codes-remaining"))).toContain("10 of 10 remaining");
  });

  it("moves to a new device: a backup code (the old phone is gone), then the new key", async () => {
    const { page } = person;
    const panel = page.locator("details[data-action='move']");
    await panel.locator("summary").click();
    await panel.getByLabel("Current code from your app, or a backup code").fill(backupCodes[0] ?? "");
    await panel.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "Move to a new device" }).waitFor();
    const key = await readManualKey(page);
    authenticator.replaceKey(key);
    await person.screenshot("profile-move-device");
    await page.getByLabel("Code from the app").fill(await authenticator.code());
    await page.getByRole("button", { name: "Confirm new device" }).click();
    await page.getByRole("heading", { name: "Your new device is ready" }).waitFor();
    backupCodes = await readBackupCodes(page);
    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL("**/ui/profile");
  });

  it("shows a wrong code in place, then disables MFA with a current code", async () => {
    const { page } = person;
    const panel = page.locator("details[data-action='disable']");
    await panel.locator("summary").click();
    await panel.getByLabel("Current code from your app, or a backup code").fill("123456");
    await panel.getByRole("button", { name: "Disable MFA" }).click();
    await page.locator("details[data-action='disable'] [role='alert']").waitFor();
    expect(await panel.getAttribute("open")).not.toBeNull();
    await person.screenshot("profile-disable-wrong-code");
    await panel.getByLabel("Current code from your app, or a backup code").fill(await authenticator.code());
    await panel.getByRole("button", { name: "Disable MFA" }).click();
    await page.waitForURL((url) => url.searchParams.get("notice") === "mfa-disabled");
    expect(await visibleText(page.getByRole("status").first())).toContain("Two-step verification is off.");
    expect(await visibleText(page.locator("#mfa-card .pill"))).toBe("Off");
    await person.screenshot("profile-mfa-disabled");
  });

  it("stops guessing after five wrong codes and says how long to wait", async () => {
    const initech = tenant("initech");
    const adminToken = await apiToken(tenantAdmin("initech"));
    const victim = await createUserByApi(adminToken, initech.tenantId, "victor");
    await enrollByApi(victim);
    const guesser = await Person.open(browser);
    const { page } = guesser;
    await guesser.signIn(victim);
    for (let i = 0; i < 6; i++) {
      const field = page.getByLabel("Authentication code");
      await field.fill(String(100000 + i));
      await page.getByRole("button", { name: "Verify" }).click();
      // The answer replaces the step, with the message and an empty field.
      await expect.poll(() => field.inputValue()).toBe("");
      await page.getByRole("alert").waitFor();
    }
    expect(await visibleText(page.getByRole("alert"))).toContain(
      "Too many attempts. Try again in 15 minutes.",
    );
    await guesser.screenshot("sign-in-too-many-attempts");
    await guesser.close();
  });

  it("fits a phone's width", async () => {
    const phone = await Person.open(browser, PHONE);
    await phone.page.goto("/");
    await phone.screenshot("phone-sign-in");
    await phone.signIn(alice);
    await phone.page.waitForURL("**/ui/profile");
    const overflow = await phone.page.evaluate(PAGE_OVERFLOW);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot("phone-profile");
    await phone.close();
  });
});
