// The operator's one-time grants. The operator CLI holds D1 access (wrangler's credentials), not a
// session: it writes a grant naming one action on one user, then asks the Worker to carry it out, so
// that the action runs through the same code as an admin's (attempt counters, email, audit) and
// needs no secret of its own. Anyone able to write such a row can already change D1 at will.
import { and, eq, gt, lte } from "drizzle-orm";
import { normalizeUsername } from "../auth/usernames";
import { now } from "../clock";
import type { Db } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { operatorGrants } from "../db/schema";
import { randomBytes, sha256Hex, toBase64Url } from "../encoding";

export type OperatorAction = (typeof operatorGrants.$inferSelect)["action"];

/** Long enough for the CLI's next request, short enough that a leaked token is soon worthless. */
export const OPERATOR_GRANT_LIFETIME_MS = 2 * 60 * 1000;

/** A grant's random token (for the request) and the row that stands for it (for D1). */
export async function newOperatorGrant(action: OperatorAction, tenantId: string, username: string) {
  const token = toBase64Url(randomBytes(32));
  const row = {
    tokenHash: await hashGrantToken(token),
    action,
    tenantId,
    usernameKey: normalizeUsername(username),
    expiresAt: now() + OPERATOR_GRANT_LIFETIME_MS,
  };
  return { token, row };
}

/** Spends the grant: true when it existed for exactly this action, tenant and user, and was alive. */
export async function claimOperatorGrant(
  db: Db,
  token: string,
  action: OperatorAction,
  tenantId: string,
  username: string,
): Promise<boolean> {
  const claimed = await db
    .delete(operatorGrants)
    .where(
      and(
        eq(operatorGrants.tokenHash, await hashGrantToken(token)),
        eq(operatorGrants.action, action),
        eq(operatorGrants.tenantId, tenantId),
        eq(operatorGrants.usernameKey, normalizeUsername(username)),
        gt(operatorGrants.expiresAt, now()),
        // Written by the CLI's clock: one that runs ahead must not stretch a grant's life.
        lte(operatorGrants.expiresAt, now() + OPERATOR_GRANT_LIFETIME_MS),
      ),
    )
    .returning({ tokenHash: operatorGrants.tokenHash });
  return claimed.length === 1;
}

/** Deletes grants nobody used (the daily cron). */
export function purgeExpiredGrants(db: Db): Promise<number> {
  return deleteInChunks(db, operatorGrants, operatorGrants.tokenHash, lte(operatorGrants.expiresAt, now()));
}

function hashGrantToken(token: string): Promise<string> {
  return sha256Hex(token);
}
