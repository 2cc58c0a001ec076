// The enrollment dashboard: counts kept by triggers (O(1)) and one indexed page of users without MFA.
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { enforcementFor } from "../auth/enforcement";
import { now } from "../clock";
import type { Db } from "../db/client";
import { type Tenant, users } from "../db/schema";

export interface NotEnrolled {
  id: string;
  username: string;
  email: string;
  /** When the user must have MFA by (null while the tenant does not require it). */
  deadline: string | null;
  /** True when that moment has passed: the user can only enroll at sign-in. */
  blocked: boolean;
}

export async function enrollmentDashboard(
  db: Db,
  tenant: Tenant,
  page: { limit: number; cursor?: string | undefined },
) {
  const rows = await db
    .select()
    .from(users)
    .where(
      and(
        eq(users.tenantId, tenant.id),
        isNull(users.mfaEnabledAt),
        page.cursor === undefined ? undefined : gt(users.usernameKey, page.cursor),
      ),
    )
    .orderBy(asc(users.usernameKey))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  const at = now();
  const notEnrolled: NotEnrolled[] = pageRows.map((user) => {
    const enforcement = enforcementFor(tenant, user, at);
    const deadline =
      enforcement.kind === "grace"
        ? enforcement.deadline
        : enforcement.kind === "blocked"
          ? enforcement.since
          : null;
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      deadline: deadline === null ? null : new Date(deadline).toISOString(),
      blocked: enforcement.kind === "blocked",
    };
  });
  return {
    totalUsers: tenant.userCount,
    enrolledUsers: tenant.enrolledCount,
    notEnrolled,
    nextCursor: more ? (pageRows.at(-1)?.usernameKey ?? null) : null,
  };
}
