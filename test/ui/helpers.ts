// A small stand-in for a browser talking to /ui through the Worker's real fetch handler: it posts
// forms, sends htmx's header, keeps the session cookie, and reads what htmx would act on.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { SESSION_COOKIE } from "../../src/middleware/session";
import type { TestUser } from "../helpers/factory";
import { ORIGIN } from "../helpers/http";

export interface UiResponse {
  status: number;
  headers: Headers;
  html: string;
  /** Where htmx (HX-Redirect) or the browser (Location) is sent next. */
  redirect: string | null;
}

export interface RequestOptions {
  form?: Record<string, string>;
  /** false: a plain browser request (a link, or a form posted with scripts off). */
  htmx?: boolean;
  headers?: Record<string, string>;
  /** The Origin header of an unsafe request; a browser sends its page's, null sends none. */
  origin?: string | null;
  /** A raw body, sent as is with the content-type given in headers. */
  body?: string;
}

export class UiClient {
  /** Every cookie the server set and has not cleared, by name, as a browser keeps them. */
  readonly cookies = new Map<string, string>();

  /** The session cookie (or enrollment token) this browser holds. */
  get cookie(): string | null {
    return this.cookies.get(SESSION_COOKIE) ?? null;
  }

  set cookie(value: string | null) {
    if (value === null) this.cookies.delete(SESSION_COOKIE);
    else this.cookies.set(SESSION_COOKIE, value);
  }

  async get(path: string, options: RequestOptions = {}): Promise<UiResponse> {
    return this.send("GET", path, options);
  }

  async post(path: string, form: Record<string, string> = {}, options: RequestOptions = {}) {
    return this.send("POST", path, { ...options, form });
  }

  async send(method: string, path: string, options: RequestOptions = {}): Promise<UiResponse> {
    const headers = new Headers(options.headers);
    if (options.htmx !== false) headers.set("hx-request", "true");
    // As a browser does: its forms and htmx's requests name the page's origin.
    const origin = options.origin === undefined ? ORIGIN : options.origin;
    if (method !== "GET" && origin !== null && !headers.has("origin")) headers.set("origin", origin);
    if (this.cookies.size > 0 && !headers.has("cookie")) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    let body = options.body;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers.set("content-type", "application/x-www-form-urlencoded");
    }
    const response = await exports.default.fetch(
      new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }),
    );
    for (const header of response.headers.getSetCookie()) this.takeCookie(header);
    return {
      status: response.status,
      headers: response.headers,
      html: await response.text(),
      redirect: response.headers.get("hx-redirect") ?? response.headers.get("location"),
    };
  }

  private takeCookie(header: string): void {
    const match = header.match(/^([^=;\s]+)=([^;]*)/);
    if (!match?.[1]) return;
    if (/max-age=0/i.test(header) || match[2] === "") this.cookies.delete(match[1]);
    else this.cookies.set(match[1], match[2] ?? "");
  }
}

/** Signs in through the UI's login form (first step only) and returns the client holding the cookie. */
export async function signInUi(user: TestUser): Promise<UiClient> {
  const client = new UiClient();
  const response = await client.post("/ui/login", credentials(user));
  expect(response.redirect).toBe("/ui/profile");
  return client;
}

export function credentials(user: TestUser): Record<string, string> {
  return { username: user.username, password: user.password, tenant_id: user.tenantId };
}

/** The text of an element with this id, tags removed (enough for the flat fragments we render). */
export function textOf(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) return "";
  const open = html.indexOf(">", start) + 1;
  const tag = html.lastIndexOf("<", start);
  const name = html.slice(tag + 1).match(/^[a-z0-9]+/)?.[0] ?? "div";
  const close = html.indexOf(`</${name}>`, open);
  return decode(html.slice(open, close).replace(/<[^>]+>/g, " "))
    .replace(/\s+/g, " ")
    .trim();
}

/** The manual key on the setup panel, without the spaces that group it. */
export function manualKey(html: string): string {
  const key = textOf(html, "manual-key").replace(/\s/g, "");
  expect(key).toMatch(/^[A-Z2-7]{32}$/);
  return key;
}

/** The backup codes shown in the codes panel, as the 8 digits each one is. */
export function shownBackupCodes(html: string): string[] {
  const list = html.slice(html.indexOf('id="backup-codes"'));
  return [...list.matchAll(/<code>(\d{4}) (\d{4})<\/code>/g)].map((m) => `${m[1]}${m[2]}`);
}

export function decode(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
