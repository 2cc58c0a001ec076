// The audit trail's chain in D1: sealing new events into it, checkpoints, verification, and the
// retention purge that leaves a signed starting point (the rules themselves: src/audit/chain.ts).
//
// Events are written unsealed (seq null) inside whatever batch they belong to, so an audited change
// and its event still commit together, concurrent requests never contend for the chain, and a
// request pays nothing for it but the MAC. Sealing runs in the daily cron (then a checkpoint), and
// before every verification and export. Two sealers at once are safe: each place in the chain is
// taken by a conditional write that holds only if the link before it is the one this sealer
// computed, and audit_tenant_seq refuses a second event at one seq.
import { and, asc, desc, eq, gt, isNotNull, isNull, lte, min, sql } from "drizzle-orm";
import { now } from "../clock";
import { changedRows, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { auditCheckpoints, auditEvents, auditVerifications, tenants } from "../db/schema";
import {
  type ChainedEvent,
  ChainVerifier,
  type Checkpoint,
  type CheckpointKind,
  chainStart,
  linkOf,
  macOf,
  signCheckpoint,
  type Verification,
} from "./chain";

/** Events sealed per round trip pair (one read, one batch of conditional writes). */
const SEAL_PAGE = 500;
/** Rounds per call at most; what is left is sealed by the next request, queue batch or cron. */
const SEAL_ROUNDS = 50;
/** Events read per query while verifying. */
const VERIFY_PAGE = 1000;

/** An event as the chain sees it; `details` as its stored JSON text, which is what the MAC covers. */
const chainedColumns = {
  id: auditEvents.id,
  tenantId: auditEvents.tenantId,
  at: auditEvents.at,
  actorId: auditEvents.actorId,
  action: auditEvents.action,
  targetId: auditEvents.targetId,
  ip: auditEvents.ip,
  details: sql<string | null>`${auditEvents.details}`,
  mac: auditEvents.mac,
  seq: auditEvents.seq,
  chain: auditEvents.chain,
};

/** Seals each tenant's waiting events; a failure is logged by the caller and retried by the next. */
export async function sealTenants(db: Db, tenantIds: Iterable<string>): Promise<number> {
  let sealed = 0;
  for (const tenantId of tenantIds) sealed += await sealTenant(db, tenantId);
  return sealed;
}

/** Gives the tenant's unsealed events, oldest first, the next places in its chain. */
export async function sealTenant(db: Db, tenantId: string): Promise<number> {
  let sealed = 0;
  for (let round = 0; round < SEAL_ROUNDS; round++) {
    const [heads, checkpoints, waiting] = await db.batch([
      db
        .select({ id: auditEvents.id, seq: auditEvents.seq, chain: auditEvents.chain })
        .from(auditEvents)
        .where(and(eq(auditEvents.tenantId, tenantId), isNotNull(auditEvents.seq)))
        .orderBy(desc(auditEvents.seq))
        .limit(1),
      db
        .select({ seq: auditCheckpoints.seq, chain: auditCheckpoints.chain })
        .from(auditCheckpoints)
        .where(eq(auditCheckpoints.tenantId, tenantId))
        .orderBy(desc(auditCheckpoints.seq))
        .limit(1),
      db
        .select(chainedColumns)
        .from(auditEvents)
        .where(and(eq(auditEvents.tenantId, tenantId), isNull(auditEvents.seq)))
        .orderBy(asc(auditEvents.at), asc(auditEvents.id))
        .limit(SEAL_PAGE),
    ]);
    const row = heads[0];
    const checkpoint = checkpoints[0];
    // The chain goes on from its last event, or from a checkpoint past it (everything before the
    // checkpoint purged). A tenant whose chain has not started adopts the events written before
    // the chain existed, which have no MAC; once it has started, an event without one is forged.
    const fromRow = row && row.seq !== null && row.chain !== null && row.seq >= (checkpoint?.seq ?? 0);
    const started = row !== undefined || checkpoint !== undefined;
    let seq = fromRow ? (row.seq ?? 0) : (checkpoint?.seq ?? 0);
    let previous = fromRow ? (row.chain ?? "") : (checkpoint?.chain ?? "");
    const writes: Statement[] = [];
    for (const event of waiting) {
      const mac = macOf(db.auditKey, event);
      if (event.mac !== mac && (started || event.mac !== null)) continue; // forged: verify reports it
      seq += 1;
      const chain = linkOf(db.auditKey, tenantId, seq, previous, mac);
      writes.push(
        sealStatement(db, tenantId, event.id, seq, chain, mac, previous, fromRow || writes.length > 0),
      );
      previous = chain;
    }
    if (writes.length === 0) return sealed;
    const results = await db.batch(writes as [Statement, ...Statement[]]);
    const changed = results.filter((result) => changedRows(result) > 0).length;
    sealed += changed;
    // Another sealer took these places first, or this was the last page: read the head again or stop.
    if (changed === writes.length && waiting.length < SEAL_PAGE) return sealed;
  }
  return sealed;
}

/**
 * Seals one event at `seq` only if nothing holds `seq` or later and, when something comes before it,
 * the event at seq - 1 carries the link this one was computed from.
 */
function sealStatement(
  db: Db,
  tenantId: string,
  id: string,
  seq: number,
  chain: string,
  mac: string,
  previous: string,
  afterEvent: boolean,
) {
  const free = sql`not exists (select 1 from audit_events where tenant_id = ${tenantId} and seq >= ${seq})`;
  const follows = afterEvent
    ? sql`exists (select 1 from audit_events where tenant_id = ${tenantId} and seq = ${seq - 1} and chain = ${previous})`
    : sql`1`;
  return db
    .update(auditEvents)
    .set({ seq, chain, mac })
    .where(and(eq(auditEvents.id, id), isNull(auditEvents.seq), free, follows));
}

async function checkpointsOf(db: Db, tenantId: string): Promise<Checkpoint[]> {
  return db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId));
}

/** Signs where the tenant's chain stands (or stood at `upTo`); null when a checkpoint already says so. */
export async function writeCheckpoint(db: Db, tenantId: string, kind: CheckpointKind, upTo?: number) {
  const [head] = await db
    .select({ seq: auditEvents.seq, chain: auditEvents.chain })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, tenantId),
        upTo === undefined ? isNotNull(auditEvents.seq) : eq(auditEvents.seq, upTo),
      ),
    )
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  if (head?.seq == null || head.chain === null) return null;
  const checkpoint = signCheckpoint(db.auditKey, {
    tenantId,
    seq: head.seq,
    chain: head.chain,
    at: now(),
    kind,
  });
  const written = await db.insert(auditCheckpoints).values(checkpoint).onConflictDoNothing();
  return changedRows(written) > 0 ? checkpoint : null;
}

/**
 * The daily cron's part: seals every tenant's waiting events and signs a daily checkpoint where its
 * chain moved on. Returns the number of tenants checkpointed.
 */
export async function checkpointTenants(db: Db): Promise<number> {
  const all = await db.select({ id: tenants.id }).from(tenants);
  let written = 0;
  for (const { id } of all) {
    await sealTenant(db, id);
    if (await writeCheckpoint(db, id, "daily")) written += 1;
  }
  return written;
}

/** Verifies the tenant's whole trail (sealing what waits first) and records the outcome. */
export async function verifyAuditTrail(db: Db, tenantId: string): Promise<Verification> {
  await sealTenant(db, tenantId);
  const checkpoints = await checkpointsOf(db, tenantId);
  const verifier = new ChainVerifier(db.auditKey, tenantId, checkpoints);
  let after = chainStart(checkpoints).seq;
  while (!verifier.isBroken) {
    const page: ChainedEvent[] = await db
      .select(chainedColumns)
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.seq, after)))
      .orderBy(asc(auditEvents.seq))
      .limit(VERIFY_PAGE);
    for (const event of page) verifier.checkEvent(event);
    const last = page.at(-1);
    if (!last || page.length < VERIFY_PAGE) break;
    after = last.seq ?? after;
  }
  const waiting = await db
    .select(chainedColumns)
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, tenantId), isNull(auditEvents.seq)))
    .limit(VERIFY_PAGE);
  for (const event of waiting) verifier.checkPending(event);
  const result = verifier.finish();
  const outcome = {
    tenantId,
    at: now(),
    ok: result.ok,
    checked: result.checked,
    brokenId: result.firstBroken?.id ?? null,
    reason: result.firstBroken?.reason ?? null,
  };
  await db
    .insert(auditVerifications)
    .values(outcome)
    .onConflictDoUpdate({ target: auditVerifications.tenantId, set: outcome });
  return result;
}

export async function lastVerification(db: Db, tenantId: string) {
  const [found] = await db.select().from(auditVerifications).where(eq(auditVerifications.tenantId, tenantId));
  return found ?? null;
}

/**
 * Deletes audit events older than the retention period (AUDIT_RETENTION_DAYS; the daily cron). Each
 * tenant's chain is cut after its last event that is past retention and before its first that is
 * not, and a signed "cut" checkpoint there is where verification starts from then on.
 */
export async function purgeOldAuditEvents(db: Db, retentionDays: number): Promise<number> {
  const cutoff = now() - retentionDays * 24 * 60 * 60 * 1000;
  const old = await db
    .selectDistinct({ tenantId: auditEvents.tenantId })
    .from(auditEvents)
    .where(lte(auditEvents.at, cutoff));
  let deleted = 0;
  for (const { tenantId } of old) {
    await sealTenant(db, tenantId);
    const [[kept], [head]] = await db.batch([
      db
        .select({ seq: min(auditEvents.seq) })
        .from(auditEvents)
        .where(
          and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.at, cutoff), isNotNull(auditEvents.seq)),
        ),
      db
        .select({ seq: auditEvents.seq })
        .from(auditEvents)
        .where(and(eq(auditEvents.tenantId, tenantId), isNotNull(auditEvents.seq)))
        .orderBy(desc(auditEvents.seq))
        .limit(1),
    ]);
    const cut = kept?.seq != null ? kept.seq - 1 : head?.seq;
    if (!cut) continue;
    // The checkpoint first: a purge that stops half way leaves events the verifier skips, never a
    // start it cannot vouch for.
    await writeCheckpoint(db, tenantId, "cut", cut);
    deleted += await deleteInChunks(
      db,
      auditEvents,
      auditEvents.id,
      and(eq(auditEvents.tenantId, tenantId), lte(auditEvents.seq, cut)) ?? sql`0`,
    );
  }
  return deleted;
}
