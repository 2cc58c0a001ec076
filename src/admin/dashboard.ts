// The enrollment dashboard: counts kept by triggers (O(1)) and one indexed page of users without MFA.
// Deactivated users count nowhere: they have no MFA to set up.
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
  return { totalUsers: tenant.userCount, enrolledUsers: tenant.enrolledCount, notEnrolled, nextCursor };
}
