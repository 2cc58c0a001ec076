// Headers and request checks that apply to every response and every request.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/**
 * The headers every answer carries, the same as public/_headers gives the static pages: what hono's
 * secureHeaders set with our policy, written out (its general-purpose code weighed 1 KiB gzipped).
 */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Origin-Agent-Cluster": "?1",
  "Referrer-Policy": "no-referrer",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "X-DNS-Prefetch-Control": "off",
  "X-Download-Options": "noopen",
  "X-Frame-Options": "DENY",
  "X-Permitted-Cross-Domain-Policies": "none",
  "X-XSS-Protection": "0",
};

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
});

/** Nothing the API answers may be cached: tokens, codes and secrets travel in these bodies. */
export const noStore = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Unsafe requests must come from our own origin. Browsers always send Origin on cross-origin POSTs,
 * so a request that carries one naming another site is refused before any cookie is looked at;
 * Sec-Fetch-Site says the same for browsers that leave Origin out.
 */
export const sameOriginOnly = originCheck({ requireProof: false });

/**
 * The browser UI's forms: as above, and a request that shows neither Origin nor Sec-Fetch-Site is
 * refused too. Every browser we serve sends one of them, and sign-in sets a cookie without needing
 * one, so a form posted by a page that hides where it came from must not sign anyone in.
 */
export const sameOriginForms = originCheck({ requireProof: true });

function originCheck({ requireProof }: { requireProof: boolean }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (UNSAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      const ownOrigins = [new URL(c.req.url).origin, c.var.config.publicOrigin];
      if (origin !== undefined && !ownOrigins.includes(origin)) throw new ApiError("forbidden");
      if (site !== undefined && site !== "same-origin" && site !== "none") throw new ApiError("forbidden");
      if (requireProof && origin === undefined && site === undefined) throw new ApiError("forbidden");
    }
    await next();
  });
}

/** Bodies are JSON: a body of another type is 415, one that does not parse is 400 invalid_json. */
export const jsonBodies = createMiddleware<AppEnv>(async (c, next) => {
  if (UNSAFE_METHODS.has(c.req.method) && c.req.raw.body !== null) {
    const type = c.req.header("content-type") ?? "";
    const text = await c.req.text();
    if (text.length > 0) {
      if (!/^application\/json\s*(;|$)/i.test(type)) throw new ApiError("unsupported_media_type");
      try {
        JSON.parse(text);
      } catch {
        throw new ApiError("invalid_json");
      }
    }
  }
  await next();
});
