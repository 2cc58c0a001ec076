// Another site's page posting a form at us: refused, before any cookie matters.
import { createServer, type Server } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiToken, baseUrl, launchBrowser, Person, tenantAdmin } from "./helpers";

let browser: Browser;
let attacker: Server;
let attackerOrigin: string;

/** A page on another origin (another port is another origin) with forms that post to us. */
function attackerPage(target: string, credentials: { username: string; password: string; tenantId: string }) {
  return `<!doctype html><html><head><title>Win a prize</title></head><body>
    <form id="login" method="post" action="${target}/ui/login">
      <input name="username" value="${credentials.username}">
      <input name="password" value="${credentials.password}">
      <input name="tenant_id" value="${credentials.tenantId}">
      <button id="steal-login">Claim</button>
    </form>
    <form id="settings" method="post" action="${target}/ui/settings/security">
      <input name="mfa_required" value="on">
      <input name="mfa_grace_period_days" value="0">
      <button id="block-everyone">Claim again</button>
    </form>
  </body></html>`;
}

beforeAll(async () => {
  browser = await launchBrowser();
  const credentials = tenantAdmin("initech");
  attacker = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(attackerPage(baseUrl(), credentials));
  });
  // Port 0: the system picks a free one; another port is another origin.
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  const address = attacker.address();
  if (address === null || typeof address === "string") throw new Error("the attacker's server has no port");
  attackerOrigin = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => attacker?.close(resolve));
});

describe("cross-origin form posts", () => {
  it("refuses a sign-in posted from another site, and sets no cookie", async () => {
    const person = await Person.open(browser);
    const { page } = person;
    await page.goto(attackerOrigin);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${baseUrl()}/ui/login`),
      page.click("#steal-login"),
    ]);
    expect(response.status()).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: "forbidden" } });
    expect(await person.context.cookies(baseUrl())).toEqual([]);
    await person.screenshot("cross-origin-refused");
    await person.context.close();
  });

  it("refuses a settings change posted from another site while the admin is signed in", async () => {
    const credentials = tenantAdmin("initech");
    const admin = await Person.open(browser);
    await admin.signIn(credentials);
    await admin.page.waitForURL("**/ui/profile");
    const before = await fetch(`${baseUrl()}/api/v1/tenants/initech/settings`, {
      headers: { authorization: `Bearer ${await apiToken(credentials)}` },
    }).then((r) => r.json());

    const evil = await admin.context.newPage();
    await evil.goto(attackerOrigin);
    const [response] = await Promise.all([
      evil.waitForResponse((r) => r.url() === `${baseUrl()}/ui/settings/security`),
      evil.click("#block-everyone"),
    ]);
    expect(response.status()).toBe(403);
    const after = await fetch(`${baseUrl()}/api/v1/tenants/initech/settings`, {
      headers: { authorization: `Bearer ${await apiToken(credentials)}` },
    }).then((r) => r.json());
    expect(after).toEqual(before);
    // The admin's own session is untouched.
    await admin.page.reload();
    expect(admin.page.url()).toContain("/ui/profile");
    await admin.close();
  });
});
