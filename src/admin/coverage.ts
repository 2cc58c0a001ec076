// MFA coverage over time: the daily cron records each tenant's totals (users, enrolled, blocked,
// in grace) as one row a day, counted by the same rule as the settings screen's impact
// (measureImpact), so the history and today's figures cannot disagree.
import { and, asc, eq, gte, sql } from "drizzle-orm";
import { now } from "../clock";
import type { Db } from "../db/client";
import { mfaCoverageDays, tenants } from "../db/schema";
import { measureImpact } from "./settings";

export type CoverageDay = typeof mfaCoverageDays.$inferSelect;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Tenants measured at once: each is one indexed count, and D1 takes a few statements at a time. */
const TENANTS_AT_ONCE = 10;

/** The UTC date of a moment, as the rows name it. */
function coverageDate(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Records today's row for every tenant (again, if the cron ran already today); returns how many. */
export async function recordCoverage(db: Db, at = now()): Promise<number> {
  const date = coverageDate(at);
  const all = await db.select().from(tenants);
  for (let start = 0; start < all.length; start += TENANTS_AT_ONCE) {
    const group = all.slice(start, start + TENANTS_AT_ONCE);
    const rows: CoverageDay[] = await Promise.all(
      group.map(async (tenant) => {
        const impact = await measureImpact(db, tenant);
        return {
          tenantId: tenant.id,
          date,
          totalUsers: tenant.userCount,
          enrolledUsers: tenant.enrolledCount,
          blocked: impact.blockedNow,
          inGrace: impact.inGrace,
        };
      }),
    );
    await db
      .insert(mfaCoverageDays)
      .values(rows)
      .onConflictDoUpdate({
        target: [mfaCoverageDays.tenantId, mfaCoverageDays.date],
        set: {
          totalUsers: sql`excluded.total_users`,
          enrolledUsers: sql`excluded.enrolled_users`,
          blocked: sql`excluded.blocked`,
          inGrace: sql`excluded.in_grace`,
        },
      });
  }
  return all.length;
}

/** The tenant's recorded days among the last `days` (today included), oldest first. */
export function coverageHistory(db: Db, tenantId: string, days: number, at = now()): Promise<CoverageDay[]> {
  const from = coverageDate(at - (days - 1) * DAY_MS);
  return db
    .select()
    .from(mfaCoverageDays)
    .where(and(eq(mfaCoverageDays.tenantId, tenantId), gte(mfaCoverageDays.date, from)))
    .orderBy(asc(mfaCoverageDays.date));
}
