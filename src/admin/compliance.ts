// The live evidence behind the Compliance page: who has MFA (admins apart, as NIST IA-2(1) asks
// about privileged accounts), since when it is enforced, coverage over time, and the audit trail's
// last verification. Read in one round trip besides the history.
import { and, count, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditCheckpoints, auditVerifications, type Tenant, users } from "../db/schema";
import { type CoverageDay, coverageHistory } from "./coverage";

export interface ComplianceEvidence {
  tenant: Tenant;
  admins: { total: number; enrolled: number };
  members: { total: number; enrolled: number };
  history: CoverageDay[];
  lastVerification: typeof auditVerifications.$inferSelect | null;
  lastCheckpointAt: number | null;
}

export async function complianceEvidence(db: Db, tenant: Tenant, days = 30): Promise<ComplianceEvidence> {
  const [byRole, verifications, checkpoints] = await db.batch([
    db
      .select({ role: users.role, total: count(), enrolled: sql<number>`count(${users.mfaEnabledAt})` })
      .from(users)
      .where(and(eq(users.tenantId, tenant.id), isNull(users.deactivatedAt)))
      .groupBy(users.role),
    db.select().from(auditVerifications).where(eq(auditVerifications.tenantId, tenant.id)),
    db
      .select({ at: sql<number | null>`max(${auditCheckpoints.at})` })
      .from(auditCheckpoints)
      .where(and(eq(auditCheckpoints.tenantId, tenant.id), isNotNull(auditCheckpoints.at))),
  ]);
  const of = (role: "admin" | "member") => {
    const row = byRole.find((r) => r.role === role);
    return { total: row?.total ?? 0, enrolled: row?.enrolled ?? 0 };
  };
  return {
    tenant,
    admins: of("admin"),
    members: of("member"),
    history: await coverageHistory(db, tenant.id, days),
    lastVerification: verifications[0] ?? null,
    lastCheckpointAt: checkpoints[0]?.at ?? null,
  };
}
