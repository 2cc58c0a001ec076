// The shapes the API answers with: the domain's values (times in milliseconds, drizzle rows) turned
// into the JSON the contract names (ISO times, snake_case). Only the API layer shapes responses.
import type { Enforcement } from "../auth/enforcement";
import type { Ceremony } from "../auth/passkeys";
import type { ListedSession } from "../auth/session-list";
import type { Tenant, User } from "../db/schema";

/** A time as the API writes it: ISO 8601, or null. */
export function isoTime(ms: number): string;
export function isoTime(ms: number | null): string | null;
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A WebAuthn ceremony as the options routes answer it. */
export function toCeremony(ceremony: Ceremony<object>) {
  return { challenge_id: ceremony.challengeId, options: { ...ceremony.options } };
}

/** A user as it leaves the service: never a hash, a secret or a code. */
export function toPublicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    tenant_id: user.tenantId,
    mfa_enabled: user.mfaEnabledAt !== null,
    active: user.deactivatedAt === null,
  };
}

/** A session as its owner (or their admin) sees it: never its token. */
export function toPublicSession(session: ListedSession) {
  return {
    id: session.id,
    created_at: isoTime(session.createdAt),
    last_used_at: isoTime(session.lastUsedAt),
    ip: session.ip,
    user_agent: session.userAgent,
    current: session.current,
  };
}

export function settingsOf(tenant: Tenant) {
  return {
    mfa_required: tenant.mfaRequired,
    mfa_grace_period_days: tenant.mfaGracePeriodDays,
    mfa_enforced_since: isoTime(tenant.mfaEnforcedSince),
  };
}

/** What clients see of a user in grace: `{required, deadline, days_remaining}`. */
export function enrollmentNotice(enforcement: Enforcement) {
  if (enforcement.kind !== "grace") return undefined;
  return {
    required: true as const,
    deadline: isoTime(enforcement.deadline),
    days_remaining: enforcement.daysRemaining,
  };
}
