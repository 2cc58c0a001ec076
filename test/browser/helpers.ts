// What the browser tests share: Debian's chromium, a page that records CSP violations and script
// errors, screenshots, an authenticator that computes codes from the key a page shows, and the API
// for setting up users quickly.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { expect, inject } from "vitest";
import { generateHotp, totpStep } from "../../src/auth/totp";
import { decodeBase32 } from "../../src/encoding";
import { SCREENSHOT_DIR } from "./screenshots";

const AXE_SOURCE = readFileSync(
  join(import.meta.dirname, "..", "..", "node_modules", "axe-core", "axe.min.js"),
  "utf8",
);

export const baseUrl = () => inject("baseUrl");

export interface SentEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * The emails the local server has sent so far, newest last: wrangler dev's send_email binding logs
 * each message's headers and writes its bodies to files, whose paths the log names.
 */
export function sentEmails(): SentEmail[] {
  const log = readFileSync(inject("logFile"), "utf8");
  const blocks = log.split("send_email binding called with MessageBuilder:").slice(1);
  return blocks.map((block) => {
    const header = (name: string) => block.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1]?.trim() ?? "";
    const textFile = header("Text");
    return {
      from: header("From"),
      to: header("To"),
      subject: header("Subject"),
      text: textFile ? readFileSync(textFile, "utf8") : "",
    };
  });
}

/** Waits until an email to `to` arrives whose subject matches, and returns it (the queue batches). */
export async function waitForEmail(to: string, subject: RegExp, after = 0): Promise<SentEmail> {
  for (let waited = 0; waited < 30_000; waited += 250) {
    const found = sentEmails()
      .slice(after)
      .find((email) => email.to === to && subject.test(email.subject));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no email to ${to} matching ${subject} within 30 s`);
}

type SeededTenant = "acme" | "initech" | "globex" | "umbrella";

export function tenant(id: SeededTenant) {
  const found = inject("tenants").find((t) => t.tenantId === id);
  if (!found) throw new Error(`no seeded tenant ${id}`);
  return found;
}

/** The seeded admin of a tenant, as the sign-in helpers take a user. */
export function tenantAdmin(id: SeededTenant): E2eUser {
  const { adminUsername, adminPassword, tenantId } = tenant(id);
  return { username: adminUsername, password: adminPassword, tenantId };
}

/** Debian's chromium, never a browser a tool downloaded. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/** How far the page is wider than the window (run in the page; > 0 means sideways scrolling). */
export const PAGE_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth";

/** One person's browser: its own cookies, and a record of anything the CSP or a script refused. */
export class Person {
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on("console", (message) => {
      if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
        this.problems.push(message.text());
      }
    });
    page.on("pageerror", (error) => this.problems.push(error.message));
  }

  static async open(browser: Browser, viewport = DESKTOP): Promise<Person> {
    const context = await browser.newContext({ viewport, baseURL: baseUrl(), acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl() });
    return new Person(context, await context.newPage());
  }

  /** A screenshot of the screen, which is also checked with axe-core (see checkAccessibility). */
  async screenshot(name: string): Promise<void> {
    await this.checkAccessibility(name);
    // From the top: a full-page capture of a scrolled page paints the sticky header mid-page.
    await this.page.evaluate(() =>
      (globalThis as unknown as { scrollTo: (x: number, y: number) => void }).scrollTo(0, 0),
    );
    await this.page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  /**
   * Runs axe-core (WCAG 2.2 A and AA, and best practices) on the page as it is; a serious or
   * critical finding is a problem close() fails on. The engine goes in through the DevTools
   * protocol, which the page's CSP does not govern, so the page keeps its real policy.
   */
  async checkAccessibility(screen: string): Promise<void> {
    await this.page.evaluate(AXE_SOURCE);
    const violations = await this.page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: typeof import("axe-core") }).axe;
      const result = await axe.run((globalThis as unknown as { document: never }).document, {
        runOnly: {
          type: "tag",
          values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
        },
        resultTypes: ["violations"],
        // Experimental in axe, so off unless asked for: an accessible name that does not contain
        // the visible text (WCAG 2.5.3) is exactly what voice control users trip on.
        rules: { "label-content-name-mismatch": { enabled: true } },
      });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3),
      }));
    });
    for (const v of violations) {
      if (v.impact === "serious" || v.impact === "critical") {
        this.problems.push(`axe ${v.impact} ${v.id} on ${screen}: ${v.nodes.join(", ")}`);
      }
    }
  }

  /** No CSP violation, no script error, then the browser closes. */
  async close(): Promise<void> {
    await this.context.close();
    expect(this.problems).toEqual([]);
  }

  async signIn(credentials: { username: string; password: string; tenantId: string }): Promise<void> {
    const { page } = this;
    await page.goto("/");
    await page.getByLabel("Username").fill(credentials.username);
    await page.getByLabel("Password").fill(credentials.password);
    await page.getByLabel("Tenant").fill(credentials.tenantId);
    await page.getByRole("button", { name: "Continue" }).click();
  }

  async signOut(): Promise<void> {
    const { page } = this;
    await page.locator(".user-menu summary").click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.pathname === "/" && url.searchParams.has("signed-out"));
  }
}

/**
 * An authenticator app: codes from the base32 key the page showed. Each time step is accepted
 * once per user, so it never reuses one; the server accepts one step ahead, so it rarely waits.
 */
export class Authenticator {
  private lastStep = -1;

  constructor(private secret: string) {}

  /** A new key for the same account (moving to a new device): any step of it is still unused. */
  replaceKey(secret: string): void {
    this.secret = secret;
    this.lastStep = -1;
  }

  async code(): Promise<string> {
    let current = totpStep(Date.now());
    if (this.lastStep + 1 > current + 1) {
      await new Promise((resolve) => setTimeout(resolve, (current + 1) * 30_000 - Date.now() + 200));
      current = totpStep(Date.now());
    }
    const step = Math.max(current, this.lastStep + 1);
    this.lastStep = step;
    return generateHotp(decodeBase32(this.secret), step);
  }
}

/** The text a person sees in an element (its rendered text: CSS case and line breaks included). */
export async function visibleText(locator: Locator): Promise<string> {
  return (await locator.allInnerTexts()).join("\n");
}

/** Reads the manual key off the setup panel, as a person would type it into their app. */
export async function readManualKey(page: Page): Promise<string> {
  // The setup panel arrives by an htmx swap after the click: wait for it as a person would.
  await page.locator("#manual-key").waitFor();
  const key = (await visibleText(page.locator("#manual-key"))).replace(/\s/g, "");
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  return key;
}

export async function readBackupCodes(page: Page): Promise<string[]> {
  await page.locator("#backup-codes").waitFor();
  const codes = await page.locator("#backup-codes code").allInnerTexts();
  expect(codes).toHaveLength(10);
  return codes.map((code) => code.replace(/\s/g, ""));
}

/** The JSON API, for preparing users the way another client would. */
export async function api(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const response = await fetch(`${baseUrl()}/api/v1${path}`, {
    method: init.method ?? "GET",
    headers: {
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

export async function apiToken(credentials: { username: string; password: string; tenantId: string }) {
  const response = await api("/auth/login", {
    method: "POST",
    body: { username: credentials.username, password: credentials.password, tenant_id: credentials.tenantId },
  });
  expect(response.status).toBe(200);
  return response.json.token as string;
}

export interface E2eUser {
  username: string;
  password: string;
  tenantId: string;
}

export async function createUserByApi(
  adminToken: string,
  tenantId: string,
  username: string,
): Promise<E2eUser> {
  const password = `pw-${crypto.randomUUID()}`;
  const response = await api(`/tenants/${tenantId}/users`, {
    method: "POST",
    token: adminToken,
    body: { username, email: `${username}@${tenantId}.example`, password, role: "member" },
  });
  expect(response.status).toBe(201);
  return { username, password, tenantId };
}

/** Turns MFA on through the API and returns the user's authenticator. */
export async function enrollByApi(user: E2eUser): Promise<Authenticator> {
  const token = await apiToken(user);
  const setup = await api("/mfa/setup", { method: "POST", token });
  expect(setup.status, JSON.stringify(setup.json)).toBe(200);
  const authenticator = new Authenticator(setup.json.secret);
  const verify = await api("/mfa/verify", {
    method: "POST",
    token,
    body: { code: await authenticator.code() },
  });
  expect(verify.status).toBe(200);
  return authenticator;
}
