// A tenant's MFA settings, and what a change would mean for its users.
import { and, count, eq, gte, isNull, or } from "drizzle-orm";
import { auditRow, insertAuditWhen } from "../auth/audit";
import { graceDeadline } from "../auth/enforcement";
import { now } from "../clock";
import { claimSucceeded, runClaim } from "../db/claims";
import type { Db } from "../db/client";
import { type Tenant, tenants, users } from "../db/schema";
import { ApiError } from "../errors";

export interface SettingsPatch {
  mfaRequired?: boolean | undefined;
  mfaGracePeriodDays?: number | undefined;
  /**
   * The version the change was decided on, when the client read the settings earlier (a form);
   * by default the version this request read.
   */
  settingsVersion?: number | undefined;
}

export interface Impact {
  usersWithoutMfa: number;
  blockedNow: number;
  inGrace: number;
  graceDeadline: number | null;
}

/** The settings as the audit trail records them (before and after a change), for people to read. */
function settingsSnapshot(tenant: Tenant) {
  return {
    mfa_required: tenant.mfaRequired,
    mfa_grace_period_days: tenant.mfaGracePeriodDays,
    mfa_enforced_since:
      tenant.mfaEnforcedSince === null ? null : new Date(tenant.mfaEnforcedSince).toISOString(),
  };
}

/**
 * Applies a settings change. Turning enforcement on starts a new period (its clock is now); turning
 * it off ends it; the grace days apply to the current period, so every deadline moves with them.
 */
export async function updateSettings(
  db: Db,
  tenant: Tenant,
  patch: SettingsPatch,
  actor: { id: string; ip: string },
): Promise<{ tenant: Tenant; impact: Impact }> {
  if (patch.settingsVersion !== undefined && patch.settingsVersion !== tenant.settingsVersion) {
    throw new ApiError("settings_conflict");
  }
  const next = applySettingsPatch(tenant, patch);
  const audit = auditRow({
    tenantId: tenant.id,
    action: "settings.updated",
    actorId: actor.id,
    targetId: null,
    ip: actor.ip,
    details: { before: settingsSnapshot(tenant), after: settingsSnapshot(next) },
  });
  // The change was decided on the version read with the session: it applies only if nobody changed
  // the settings since, so the answer and the audit event describe exactly the row written.
  const written = await runClaim(
    db,
    db
      .update(tenants)
      .set({
        mfaRequired: next.mfaRequired,
        mfaGracePeriodDays: next.mfaGracePeriodDays,
        mfaEnforcedSince: next.mfaEnforcedSince,
        settingsVersion: next.settingsVersion,
      })
      .where(and(eq(tenants.id, tenant.id), eq(tenants.settingsVersion, tenant.settingsVersion))),
    [insertAuditWhen(db, audit, claimSucceeded)],
  );
  if (!written) throw new ApiError("settings_conflict");
  return { tenant: next, impact: await measureImpact(db, next) };
}

/** The tenant as it would be after the change, at this moment; nothing is written. */
function applySettingsPatch(tenant: Tenant, patch: SettingsPatch): Tenant {
  const mfaRequired = patch.mfaRequired ?? tenant.mfaRequired;
  return {
    ...tenant,
    mfaRequired,
    mfaGracePeriodDays: patch.mfaGracePeriodDays ?? tenant.mfaGracePeriodDays,
    mfaEnforcedSince: mfaRequired ? (tenant.mfaRequired ? tenant.mfaEnforcedSince : now()) : null,
    settingsVersion: tenant.settingsVersion + 1,
  };
}

/** What a change would mean if it were saved now (the settings screen shows it before Save). */
export async function previewSettings(
  db: Db,
  tenant: Tenant,
  patch: SettingsPatch,
): Promise<{ tenant: Tenant; impact: Impact }> {
  const next = applySettingsPatch(tenant, patch);
  return { tenant: next, impact: await measureImpact(db, next) };
}

/** Who lacks MFA, who of them is blocked at sign-in now, and who is still in grace (until when). */
export async function measureImpact(db: Db, tenant: Tenant): Promise<Impact> {
  const usersWithoutMfa = tenant.userCount - tenant.enrolledCount;
  const deadline = graceDeadline(tenant);
  if (deadline === null || tenant.mfaEnforcedSince === null) {
    return { usersWithoutMfa, blockedNow: 0, inGrace: 0, graceDeadline: null };
  }
  if (now() >= deadline)
    return { usersWithoutMfa, blockedNow: usersWithoutMfa, inGrace: 0, graceDeadline: deadline };
  const since = tenant.mfaEnforcedSince;
  // Without grace: created since enforcement began, or reset since (see src/auth/enforcement.ts).
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(
      and(
        eq(users.tenantId, tenant.id),
        isNull(users.mfaEnabledAt),
        isNull(users.deactivatedAt), // as in the tenant's counts, which leave deactivated users out
        or(gte(users.createdAt, since), gte(users.mfaResetAt, since)),
      ),
    );
  const blockedNow = row?.n ?? 0;
  return { usersWithoutMfa, blockedNow, inGrace: usersWithoutMfa - blockedNow, graceDeadline: deadline };
}
