// Organisation-wide MFA enforcement: who must enroll, by when, computed from the server clock only.
//
// The rules:
// - A tenant's enforcement period starts when an admin turns "require MFA" on (mfa_enforced_since);
//   turning it off and on again starts a new period.
// - Users who existed before the period began get a grace period: their deadline is
//   mfa_enforced_since + the tenant's current grace days. Changing the grace days moves every such
//   deadline to match (lengthening extends everyone; shortening may block people at once, and the
//   settings response says how many).
// - Users created after the period began, and users whose MFA an admin reset after it began, have no
//   grace: they enroll at their next sign-in. A reset never reopens a grace period.
// - No role is exempt.
import type { Tenant, User } from "../db/schema";

export const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_GRACE_PERIOD_DAYS = 90;

export type Enforcement =
  | { kind: "none" }
  | { kind: "grace"; deadline: number; daysRemaining: number }
  | { kind: "blocked"; since: number };

type EnforcedTenant = Pick<Tenant, "mfaRequired" | "mfaEnforcedSince" | "mfaGracePeriodDays">;
type EnforcedUser = Pick<User, "mfaEnabledAt" | "createdAt" | "mfaResetAt">;

export function graceDeadline(tenant: EnforcedTenant): number | null {
  if (!tenant.mfaRequired || tenant.mfaEnforcedSince === null) return null;
  return tenant.mfaEnforcedSince + tenant.mfaGracePeriodDays * DAY_MS;
}

export function enforcementFor(tenant: EnforcedTenant, user: EnforcedUser, at: number): Enforcement {
  const deadline = graceDeadline(tenant);
  if (deadline === null || tenant.mfaEnforcedSince === null || user.mfaEnabledAt !== null)
    return { kind: "none" };
  const since = tenant.mfaEnforcedSince;
  if (user.createdAt >= since) return { kind: "blocked", since: user.createdAt };
  if (user.mfaResetAt !== null && user.mfaResetAt >= since)
    return { kind: "blocked", since: user.mfaResetAt };
  if (at >= deadline) return { kind: "blocked", since: deadline };
  return { kind: "grace", deadline, daysRemaining: Math.ceil((deadline - at) / DAY_MS) };
}

/** When MFA is due for the user: the grace deadline, or the moment they became blocked. */
export function enforcementDeadline(enforcement: Enforcement): number | null {
  if (enforcement.kind === "grace") return enforcement.deadline;
  if (enforcement.kind === "blocked") return enforcement.since;
  return null;
}
