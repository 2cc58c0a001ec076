// An account through its life in a real browser: a user changes their password and signs out a
// session they do not recognise; a forgotten password comes back through the emailed link (and
// an MFA user is still asked for the code afterwards); an admin changes a role, deactivates and
// reactivates a user, and ends their sessions. Every screen is checked with axe-core.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  apiToken,
  baseUrl,
  createUserByApi,
  type E2eUser,
  enrollByApi,
  launchBrowser,
  Person,
  sentEmails,
  tenantAdmin,
  visibleText,
  waitForEmail,
} from "./helpers";

let browser: Browser;
let initechAdmin: E2eUser;
let adminToken: string;

beforeAll(async () => {
  browser = await launchBrowser();
  initechAdmin = tenantAdmin("initech");
  adminToken = await apiToken(initechAdmin);
});

afterAll(async () => {
  await browser?.close();
});

/** The reset link in the newest reset email to `to`. */
async function resetLinkFor(to: string, after: number): Promise<string> {
  const email = await waitForEmail(to, /Reset your .* password/, after);
  const link = email.text.match(/https?:\/\/\S+\/ui\/password\/reset\?token=[\w%-]+/)?.[0];
  if (!link) throw new Error(`no link in: ${email.text}`);
  // The email names the configured public origin; the test server listens on its own port.
  const url = new URL(link);
  return `${baseUrl()}${url.pathname}${url.search}`;
}

describe("a user's own account", () => {
  it("changes the password on Profile, and the old one stops working", async () => {
    const pat = await createUserByApi(adminToken, "initech", "pat");
    const person = await Person.open(browser);
    await person.signIn(pat);
    await person.page.waitForURL("**/ui/profile");
    const card = person.page.locator("#password-card");
    await card.getByLabel("Current password").fill(pat.password);
    await card.getByLabel("New password", { exact: true }).fill("password1");
    await card.getByLabel("New password again").fill("password1");
    await card.getByRole("button", { name: "Change password" }).click();
    await card.getByText("is one of the most commonly used passwords").waitFor();
    await person.screenshot("profile-password-refused");
    await card.getByLabel("Current password").fill(pat.password);
    await card.getByLabel("New password", { exact: true }).fill("pat's long new passphrase");
    await card.getByLabel("New password again").fill("pat's long new passphrase");
    await card.getByRole("button", { name: "Change password" }).click();
    await card.getByText("Your password is changed").waitFor();
    expect((await api("/auth/login", { method: "POST", body: { ...creds(pat) } })).status).toBe(401);
    await person.close();
  });

  it("lists the sessions on Profile and signs out one it does not recognise", async () => {
    const sam = await createUserByApi(adminToken, "initech", "sam");
    const other = await apiToken(sam); // a session elsewhere
    const person = await Person.open(browser);
    await person.signIn(sam);
    await person.page.waitForURL("**/ui/profile");
    const card = person.page.locator("#sessions-card");
    expect(await visibleText(card)).toMatch(/This session/);
    await person.screenshot("profile-sessions");
    await card.getByRole("button", { name: /^Sign out .* from/ }).click();
    await card.getByText("That session has been signed out.").waitFor();
    expect((await api("/auth/me", { token: other })).status).toBe(401);
    expect((await api("/auth/me", { token: await apiToken(sam) })).status).toBe(200);
    await person.close();
  });
});

describe("a forgotten password", () => {
  it("comes back through the emailed link, and signs nobody in by itself", async () => {
    const robin = await createUserByApi(adminToken, "initech", "robin");
    const person = await Person.open(browser);
    const { page } = person;
    await page.goto("/");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL("**/ui/password/forgot");
    const before = sentEmails().length;
    await page.getByLabel("Username").fill(robin.username);
    await page.getByLabel("Tenant").fill("initech");
    await page.getByRole("button", { name: "Email me a link" }).click();
    await page.getByText("If that account exists").waitFor();
    await person.screenshot("forgot-password");

    await page.goto(await resetLinkFor("robin@initech.example", before));
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await page.getByLabel("New password", { exact: true }).fill("violet tractor umbrella 1987");
    await page.getByLabel("New password again").fill("violet tractor umbrella 1987");
    await person.screenshot("reset-password");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("heading", { name: "Your password is set" }).waitFor();
    const cookies = await person.context.cookies();
    expect(cookies.map((c) => c.name)).not.toContain("__Host-session");
    await page.getByRole("link", { name: "Sign in" }).click();
    await person.signIn({ ...robin, password: "violet tractor umbrella 1987" });
    await page.waitForURL("**/ui/profile");
    await person.close();
  });

  it("still asks an MFA user for the code after the reset", async () => {
    const quinn = await createUserByApi(adminToken, "initech", "quinn");
    const authenticator = await enrollByApi(quinn);
    const before = sentEmails().length;
    expect(
      (
        await api("/auth/password/forgot", {
          method: "POST",
          body: { tenant_id: "initech", username: "quinn" },
        })
      ).status,
    ).toBe(202);
    const person = await Person.open(browser);
    const { page } = person;
    await page.goto(await resetLinkFor("quinn@initech.example", before));
    await page.getByLabel("New password", { exact: true }).fill("amber kettle lantern 2046");
    await page.getByLabel("New password again").fill("amber kettle lantern 2046");
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("heading", { name: "Your password is set" }).waitFor();
    await person.signIn({ ...quinn, password: "amber kettle lantern 2046" });
    const code = page.getByLabel("Authentication code");
    await code.waitFor();
    expect(page.url()).not.toContain("/ui/profile");
    await code.fill(await authenticator.code());
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL("**/ui/profile");
    await person.close();
  });
});

describe("an admin offboarding and changing roles", () => {
  it("changes a role, deactivates and reactivates a user, and ends their sessions", async () => {
    const lee = await createUserByApi(adminToken, "initech", "lee");
    const leeBrowser = await Person.open(browser);
    await leeBrowser.signIn(lee);
    await leeBrowser.page.waitForURL("**/ui/profile");

    const admin = await Person.open(browser);
    const { page } = admin;
    await admin.signIn(initechAdmin);
    await page.waitForURL("**/ui/profile");
    await page.goto("/ui/settings/users");
    await page.getByRole("link", { name: "Manage lee" }).click();
    await page.waitForURL(/\/ui\/settings\/users\/[\w-]+$/);
    const panel = page.locator("#user-detail");
    expect(await visibleText(panel)).toMatch(/This session|Signed in/i);
    await admin.screenshot("user-detail");

    await panel.getByLabel("Role").selectOption("admin");
    await panel.getByRole("button", { name: "Save role" }).click();
    await panel.getByText("lee is now an admin.").waitFor();
    await panel.getByLabel("Role").selectOption("member");
    await panel.getByRole("button", { name: "Save role" }).click();
    await panel.getByText("lee is now a member.").waitFor();

    await panel.getByRole("button", { name: "Deactivate user" }).click();
    await panel.getByText("lee is deactivated and signed out everywhere.").waitFor();
    await admin.screenshot("user-deactivated");
    // Lee's open page is signed out at once: the next request goes back to sign-in.
    await leeBrowser.page.reload();
    await leeBrowser.page.waitForURL((url) => url.pathname === "/");
    expect((await api("/auth/login", { method: "POST", body: creds(lee) })).json.error.code).toBe(
      "invalid_credentials",
    );

    await panel.getByRole("button", { name: "Reactivate user" }).click();
    await panel.getByText("lee is active again").waitFor();
    await leeBrowser.signIn(lee);
    await leeBrowser.page.waitForURL("**/ui/profile");
    await page.reload(); // the session lee just opened shows on a fresh look at the page
    await panel.getByRole("button", { name: "Sign out everywhere" }).click();
    await panel.getByText("lee is signed out everywhere.").waitFor();
    await leeBrowser.page.reload();
    await leeBrowser.page.waitForURL((url) => url.pathname === "/");
    await leeBrowser.close();
    await admin.close();
  });
});

function creds(user: E2eUser) {
  return { tenant_id: user.tenantId, username: user.username, password: user.password };
}
