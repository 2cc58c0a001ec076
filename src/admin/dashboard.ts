// The enrollment dashboard: counts kept by triggers (O(1)) and one indexed page of users without MFA.
// Deactivated users count nowhere: they have no MFA to set up.

import { sql } from "drizzle-orm";
import { enforcementDeadline, enforcementFor } from "../auth/enforcement";
import { listUsers } from "../auth/users";
import { now } from "../clock";
import type { Db } from "../db/client";
import type { Tenant } from "../db/schema";

export interface NotEnrolled {
  id: string;
  username: string;
  email: string;
  /** When the user must have MFA by (null while the tenant does not require it). */
  deadline: number | null;
  /** True when that moment has passed: the user can only enroll at sign-in. */
  blocked: boolean;
}

export async function enrollmentDashboard(
  db: Db,
  tenant: Tenant,
  page: { limit: number; cursor?: string | undefined },
) {
  const { users, nextCursor } = await listUsers(db, tenant.id, { ...page, mfa: "disabled", active: true });
  const at = now();
  const notEnrolled: NotEnrolled[] = users.map((user) => {
    const enforcement = enforcementFor(tenant, user, at);
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      deadline: enforcementDeadline(enforcement),
      blocked: enforcement.kind === "blocked",
    };
  });
  const byFactor = await countByFactor(db, tenant.id);
  return {
    totalUsers: tenant.userCount,
    enrolledUsers: tenant.enrolledCount,
    byFactor,
    notEnrolled,
    nextCursor,
  };
}

/** The enrolled users by the factors they hold: TOTP alone, passkeys alone, both. */
export interface FactorCounts {
  totp: number;
  passkey: number;
  both: number;
}

/**
 * Counts the active enrolled users by factor: one statement over the users_tenant_mfa index (the
 * enrolled users only) and, for each, one probe of passkeys_user.
 */
async function countByFactor(db: Db, tenantId: string): Promise<FactorCounts> {
  const [row] = await db
    .select({
      totp: sql<number>`coalesce(sum(totp and not passkey), 0)`,
      passkey: sql<number>`coalesce(sum(passkey and not totp), 0)`,
      both: sql<number>`coalesce(sum(totp and passkey), 0)`,
    })
    .from(
      sql`(select totp_secret is not null as totp,
          exists (select 1 from passkeys where passkeys.user_id = users.id) as passkey
        from users where tenant_id = ${tenantId} and mfa_enabled_at is not null and deactivated_at is null)`,
    );
  return { totp: row?.totp ?? 0, passkey: row?.passkey ?? 0, both: row?.both ?? 0 };
}
