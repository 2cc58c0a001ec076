// What every /ui handler needs: reading form fields, answering htmx and plain requests alike,
// and the session cookie the browser carries instead of a bearer token.
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { now } from "../clock";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { SESSION_COOKIE } from "../middleware/session";
import { BarePage } from "./layout";

export type UiContext = Context<AppEnv>;

/** What rendering JSX gives. */
export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

/** True for requests htmx made (they get fragments); plain form posts and links get whole pages. */
export function isHtmx(c: UiContext): boolean {
  return c.req.header("hx-request") === "true";
}

/** A whole page, with its doctype. */
export function page(c: UiContext, node: Markup, status: ContentfulStatusCode = 200) {
  return c.html(html`<!DOCTYPE html>${node}`, status);
}

/**
 * A fragment for htmx to swap in. A request that did not come from htmx (an address opened
 * directly, a client without scripts) gets the same content inside a bare page, never half a document.
 */
export function fragment(c: UiContext, node: Markup, status: ContentfulStatusCode = 200, title = "Sign in") {
  if (isHtmx(c)) return c.html(node, status);
  return page(
    c,
    <BarePage title={title} productName={c.var.config.productName}>
      <div class="auth-card">{node}</div>
    </BarePage>,
    status,
  );
}

/** Sends the browser elsewhere: htmx follows HX-Redirect, a plain request a 303. */
export function redirect(c: UiContext, location: string) {
  if (isHtmx(c)) {
    c.header("HX-Redirect", location);
    return c.body(null, 200);
  }
  return c.redirect(location, 303);
}

/**
 * One text field of a urlencoded or multipart form; anything else (a file, a repeat) is "".
 * A body of another type is 415, and one that does not parse (a multipart body without its
 * boundary) is 400: never a 500.
 */
export async function formFields(c: UiContext): Promise<(name: string) => string> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i.test(type)) {
    throw new ApiError("unsupported_media_type", { message: "The body must be a form" });
  }
  let body: Awaited<ReturnType<typeof c.req.parseBody>>;
  try {
    body = await c.req.parseBody();
  } catch {
    throw new ApiError("invalid_request", { message: "The form could not be read" });
  }
  return (name) => {
    const value = body[name];
    return typeof value === "string" ? value : "";
  };
}

/**
 * The session (or enrollment) token in the `__Host-` cookie: HttpOnly so scripts never read it,
 * Secure and Path=/ as the prefix demands, SameSite=Strict so no other site's page can send it.
 */
/** The pending sign-in between the two steps: HttpOnly, so no script on the page can read it. */
export const MFA_COOKIE = "__Host-mfa";

export function setSessionCookie(c: UiContext, token: string, expiresAt: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: Math.max(0, Math.floor((expiresAt - now()) / 1000)),
  });
}

export function clearSessionCookie(c: UiContext): void {
  deleteCookie(c, SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
}
