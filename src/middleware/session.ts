// One middleware accepts the bearer token or the UI's cookie and resolves it to a live session.
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { enforcementFor } from "../auth/enforcement";
import { authenticate, needsTouch, touchSession } from "../auth/sessions";
import type { TokenKind } from "../auth/tokens";
import { now } from "../clock";
import { type AppEnv, deferAfterResponse } from "../context";
import { ApiError } from "../errors";

export const SESSION_COOKIE = "__Host-session";

/**
 * Requires a live session. `kinds` lists the token kinds the route accepts: everything takes a
 * session; only MFA setup and verify also take an enrollment token.
 */
export function requireAuth(kinds: readonly TokenKind[] = ["session"]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const cookie = bearer ? undefined : getCookie(c, SESSION_COOKIE);
    const token = bearer ?? cookie;
    if (!token || token.length > 4096) throw new ApiError("unauthorized");
    const { db, config } = c.var;
    let found = null;
    for (const kind of kinds) {
      found = await authenticate(db, kind, token, config.sessionSigningKey);
      if (found) break;
    }
    if (!found) throw new ApiError("unauthorized");
    const at = now();
    // "Last used" is kept coarse: one write per five minutes of use, after the response.
    if (needsTouch(found.session, at)) {
      const sessionId = found.session.id;
      deferAfterResponse(c, () => touchSession(db, sessionId, at), "recording a session's use");
    }
    // Once enrollment is due, a session opened during the grace period opens only what an
    // enrollment token would: MFA setup and verify.
    if (!kinds.includes("enrollment") && enforcementFor(found.tenant, found.user, at).kind === "blocked") {
      throw new ApiError("mfa_enrollment_required");
    }
    c.set("auth", found);
    c.set("authVia", bearer ? "bearer" : "cookie");
    await next();
  });
}

/** Only an admin of the tenant named in the path; a member or another tenant's admin gets 403. */
export const requireTenantAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const { user } = c.var.auth;
  if (user.role !== "admin" || user.tenantId !== c.req.param("tenantID")) throw new ApiError("forbidden");
  await next();
});

/** The middleware of every tenant-administration route. */
export const tenantAdminOnly = [requireAuth(), requireTenantAdmin];
