// The guard of every admin screen: a full session of an admin. The tenant is always the session's
// own, so an admin can never reach another tenant's screens (the API checks the path's tenant).
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { requireAuth } from "../middleware/session";

const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.auth.user.role !== "admin") throw new ApiError("forbidden");
  await next();
});

export const adminOnly = [requireAuth(), requireAdmin] as const;

/** Rows per page on the admin lists. */
export const PAGE_SIZE = 25;

/** The query string of the next page's request. */
export function nextPageQuery(cursor: string | null): string | null {
  return cursor === null ? null : new URLSearchParams({ cursor }).toString();
}
