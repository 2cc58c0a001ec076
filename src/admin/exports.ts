// The admin exports' rows, read in keyset pages: a tenant of any size streams out one page at a time,
// so memory holds a page and never the whole tenant (measured by npm run bench). The API writes them
// as CSV or JSON Lines (src/api/exports.ts).
import { and, asc, eq, gt, gte, lt, sql } from "drizzle-orm";
import { beyondEvent, type EventPosition } from "../auth/audit";
import { type Enforcement, enforcementFor } from "../auth/enforcement";
import type { Db } from "../db/client";
import { auditEvents, passkeys, type Tenant, users } from "../db/schema";

/** Rows per query: large enough that round trips stay few, small enough for a Worker's memory. */
export const EXPORT_PAGE = 1000;

export interface TimeRange {
  /** Inclusive, milliseconds. */
  from?: number | undefined;
  /** Exclusive, milliseconds. */
  to?: number | undefined;
}

/** A tenant's audit events in time order (then id), within the range. */
export async function* auditEventPages(db: Db, tenantId: string, range: TimeRange, pageSize = EXPORT_PAGE) {
  let after: EventPosition | null = null;
  for (;;) {
    const page = await db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.tenantId, tenantId),
          range.from === undefined ? undefined : gte(auditEvents.at, range.from),
          range.to === undefined ? undefined : lt(auditEvents.at, range.to),
          after === null ? undefined : beyondEvent(after, "asc"),
        ),
      )
      .orderBy(asc(auditEvents.at), asc(auditEvents.id))
      .limit(pageSize);
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (!last || page.length < pageSize) return;
    after = { at: last.at, id: last.id };
  }
}

export interface ReportedUser {
  id: string;
  username: string;
  email: string;
  role: "admin" | "member";
  active: boolean;
  totp: boolean;
  passkeys: number;
  enrolledAt: number | null;
  enforcement: Enforcement;
  lastSignInAt: number | null;
  createdAt: number;
}

/**
 * The enrollment report: every user of the tenant in username order, with their factors and where
 * enforcement leaves them at `at` (the same rule as sign-in and the dashboard).
 */
export async function* userReportPages(db: Db, tenant: Tenant, at: number, pageSize = EXPORT_PAGE) {
  let after: string | null = null;
  for (;;) {
    const rows = await db
      .select({
        // What the report shows and enforcement needs: never a hash or a secret.
        user: {
          id: users.id,
          username: users.username,
          usernameKey: users.usernameKey,
          email: users.email,
          role: users.role,
          createdAt: users.createdAt,
          mfaEnabledAt: users.mfaEnabledAt,
          mfaResetAt: users.mfaResetAt,
          deactivatedAt: users.deactivatedAt,
          lastSignInAt: users.lastSignInAt,
          totp: sql<number>`${users.totpSecret} is not null`,
        },
        passkeys: sql<number>`(select count(*) from ${passkeys} where ${passkeys.userId} = ${users.id})`,
      })
      .from(users)
      .where(and(eq(users.tenantId, tenant.id), after === null ? undefined : gt(users.usernameKey, after)))
      .orderBy(asc(users.usernameKey))
      .limit(pageSize);
    if (rows.length > 0) {
      yield rows.map(
        ({ user, passkeys: count }): ReportedUser => ({
          id: user.id,
          username: user.username,
          email: user.email,
          role: user.role,
          active: user.deactivatedAt === null,
          totp: Boolean(user.totp),
          passkeys: count,
          enrolledAt: user.mfaEnabledAt,
          enforcement: user.deactivatedAt === null ? enforcementFor(tenant, user, at) : { kind: "none" },
          lastSignInAt: user.lastSignInAt,
          createdAt: user.createdAt,
        }),
      );
    }
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    after = last.user.usernameKey;
  }
}
