// The live evidence behind the Compliance page: who has MFA (admins apart, as NIST IA-2(1) asks
// about privileged accounts), since when it is enforced, coverage over time, and the audit trail's
// last verification and checkpoint as its anchor (outside D1) records them.
import { and, count, eq, isNull, sql } from "drizzle-orm";
import type { AnchorStatus } from "../audit/anchor";
import { type Trail, trailStatus } from "../audit/seal";
import { type Tenant, users } from "../db/schema";
import { type CoverageDay, coverageHistory } from "./coverage";

export interface ComplianceEvidence {
  tenant: Tenant;
  admins: { total: number; enrolled: number };
  members: { total: number; enrolled: number };
  history: CoverageDay[];
  lastVerification: AnchorStatus["verification"];
  lastCheckpointAt: number | null;
}

export async function complianceEvidence(
  trail: Trail,
  tenant: Tenant,
  days = 30,
): Promise<ComplianceEvidence> {
  const [byRole, history, last] = await Promise.all([
    trail.db
      .select({ role: users.role, total: count(), enrolled: sql<number>`count(${users.mfaEnabledAt})` })
      .from(users)
      .where(and(eq(users.tenantId, tenant.id), isNull(users.deactivatedAt)))
      .groupBy(users.role),
    coverageHistory(trail.db, tenant.id, days),
    trailStatus(trail, tenant.id),
  ]);
  const of = (role: "admin" | "member") => {
    const row = byRole.find((r) => r.role === role);
    return { total: row?.total ?? 0, enrolled: row?.enrolled ?? 0 };
  };
  return {
    tenant,
    admins: of("admin"),
    members: of("member"),
    history,
    lastVerification: last.verification,
    lastCheckpointAt: last.checkpoint?.at ?? null,
  };
}
