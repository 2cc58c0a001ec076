// The audit trail's chain in D1: sealing new events into it, checkpoints, verification, and the
// retention purge that leaves a signed starting point (the rules themselves: src/audit/chain.ts).
//
// Events are written unsealed (seq null) inside whatever batch they belong to, so an audited change
// and its event still commit together, concurrent requests never contend for the chain, and a
// request pays nothing for it but the MAC. Sealing runs in the daily cron (then a checkpoint), and
// before every verification and audit export.
//
// The sealer trusts nothing in D1 it has not checked: it continues only from the head the tenant's
// anchor holds outside D1 (src/audit/anchor.ts), after checking that D1's chain still reaches that
// head and that whatever was sealed past it links on. A chain reset, cut or rebuilt in D1 is left
// alone for verification to report, never sealed over. Two sealers at once are safe: each place is
// taken by a conditional write that holds only if the event before it carries the link it was
// computed from, audit_tenant_seq refuses a second event at one seq, and the anchor only moves from
// the head a sealer started at.
import { and, asc, eq, gt, isNull, lte, min, sql } from "drizzle-orm";
import { beyondEvent, type EventPosition } from "../auth/audit";
import { now } from "../clock";
import { changedRows, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { auditCheckpoints, auditEvents, tenants } from "../db/schema";
import {
  CHAIN_START,
  type ChainPoint,
  type Checkpoint,
  type CheckpointKind,
  chainStart,
  linkOf,
  linkProblem,
  macOf,
  signCheckpoint,
  type TrailReader,
  type Verification,
  verifyTrail,
} from "./chain";

/** What the trail's functions need: D1 (with the audit key) and the anchors' namespace. */
export interface Trail {
  env: Env;
  db: Db;
}

/** The tenant's anchor (src/audit/anchor.ts, which only the Worker's entry imports). */
function anchorOf(env: Env, tenantId: string) {
  return env.AUDIT_ANCHOR.get(env.AUDIT_ANCHOR.idFromName(tenantId));
}

/** Events sealed per round trip pair (one read, one batch of conditional writes). */
const SEAL_PAGE = 500;
/** Rounds per call at most; what is left is sealed by the next verification, export or cron. */
const SEAL_ROUNDS = 50;
/**
 * Events written before the chain existed have no MAC. For a week after the release that brought
 * the chain (the daily cron seals every tenant in that time), sealing adopts MAC-less events older
 * than the release; after it, none ever. A MAC-less event is otherwise forged.
 */
export const CHAIN_RELEASED_AT = Date.UTC(2026, 11, 3);
export const ADOPTION_ENDS_AT = CHAIN_RELEASED_AT + 7 * 24 * 60 * 60 * 1000;

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

function sealedAfter(db: Db, tenantId: string, seq: number, limit: number) {
  return db
    .select(chainedColumns)
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.seq, seq)))
    .orderBy(asc(auditEvents.seq))
    .limit(limit);
}

async function checkpointsOf(db: Db, tenantId: string): Promise<Checkpoint[]> {
  return db.select().from(auditCheckpoints).where(eq(auditCheckpoints.tenantId, tenantId));
}

/**
 * The tenant's chain head as far as it can be trusted: the anchor's, moved on over events sealed
 * past it that link on from it (a sealer that stopped before moving the anchor). Null when D1 no
 * longer reaches the anchor, or something past it does not link: nothing may be sealed then.
 */
async function trustedHead(trail: Trail, tenantId: string): Promise<ChainPoint | null> {
  const { db } = trail;
  const anchor = anchorOf(trail.env, tenantId);
  const anchored = await anchor.head();
  let head = anchored ?? CHAIN_START;
  if (head.seq > 0) {
    const [row] = await db
      .select({ chain: auditEvents.chain })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.seq, head.seq)));
    // The anchor's own event may have been purged: then the signed cut there must carry its link.
    const cut = row ? null : chainStart(db.auditKey, await checkpointsOf(db, tenantId));
    const reached = row ? row.chain === head.chain : cut?.seq === head.seq && cut.chain === head.chain;
    if (!reached) return null;
  }
  for (;;) {
    const page = await sealedAfter(db, tenantId, head.seq, SEAL_PAGE);
    for (const event of page) {
      if (linkProblem(db.auditKey, tenantId, head, event)) return null;
      head = { seq: event.seq ?? 0, chain: event.chain ?? "" };
    }
    if (page.length < SEAL_PAGE) break;
  }
  if (head.seq !== (anchored?.seq ?? 0) && !(await anchor.advance(anchored, head))) return null;
  return head;
}

/** Gives the tenant's unsealed events, oldest first, the next places in its chain. */
export async function sealTenant(trail: Trail, tenantId: string): Promise<number> {
  const { db } = trail;
  const anchor = anchorOf(trail.env, tenantId);
  let sealed = 0;
  const adopting = now() < ADOPTION_ENDS_AT;
  // Keyset over the waiting events, so events this sealer refuses never hold up the ones after them.
  let after: EventPosition | null = null;
  for (let round = 0; round < SEAL_ROUNDS; round++) {
    const head = await trustedHead(trail, tenantId);
    if (!head) return sealed;
    const waiting = await db
      .select(chainedColumns)
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.tenantId, tenantId),
          isNull(auditEvents.seq),
          after === null ? undefined : beyondEvent(after, "asc"),
        ),
      )
      .orderBy(asc(auditEvents.at), asc(auditEvents.id))
      .limit(SEAL_PAGE);
    let previous = head;
    const writes: Statement[] = [];
    for (const event of waiting) {
      const mac = macOf(db.auditKey, event);
      const legacy = adopting && event.mac === null && event.at < CHAIN_RELEASED_AT;
      if (event.mac !== mac && !legacy) continue; // forged: verify reports it
      const seq = previous.seq + 1;
      const chain = linkOf(db.auditKey, tenantId, seq, previous.chain, mac);
      writes.push(sealStatement(db, tenantId, event.id, { seq, chain }, mac, previous));
      previous = { seq, chain };
    }
    const last = waiting.at(-1);
    if (last) after = { at: last.at, id: last.id };
    if (writes.length > 0) {
      const results = await db.batch(writes as [Statement, ...Statement[]]);
      const changed = results.filter((result) => changedRows(result) > 0).length;
      sealed += changed;
      // All placed: the anchor moves on. Otherwise another sealer got there first; the next round's
      // trustedHead checks what it wrote and moves the anchor over it.
      if (changed === writes.length) await anchor.advance(head.seq === 0 ? null : head, previous);
    }
    if (waiting.length < SEAL_PAGE) return sealed;
  }
  return sealed;
}

/**
 * Seals one event at `at.seq` only if nothing holds that place or a later one and, when something
 * comes before it, the event at seq - 1 carries the link this one was computed from.
 */
function sealStatement(
  db: Db,
  tenantId: string,
  id: string,
  at: ChainPoint,
  mac: string,
  previous: ChainPoint,
) {
  const free = sql`not exists (select 1 from audit_events where tenant_id = ${tenantId} and seq >= ${at.seq})`;
  const follows =
    previous.seq > 0
      ? sql`(exists (select 1 from audit_events where tenant_id = ${tenantId} and seq = ${previous.seq} and chain = ${previous.chain})
          or exists (select 1 from audit_checkpoints where tenant_id = ${tenantId} and seq = ${previous.seq} and chain = ${previous.chain} and kind = 'cut'))`
      : sql`1`;
  return db
    .update(auditEvents)
    .set({ seq: at.seq, chain: at.chain, mac })
    .where(and(eq(auditEvents.id, id), isNull(auditEvents.seq), free, follows));
}

/** Signs a place of the tenant's chain (noted in its anchor); null when a checkpoint already says so. */
async function writeCheckpoint(trail: Trail, tenantId: string, kind: CheckpointKind, point: ChainPoint) {
  const checkpoint = signCheckpoint(trail.db.auditKey, { tenantId, ...point, at: now(), kind });
  const written = await trail.db.insert(auditCheckpoints).values(checkpoint).onConflictDoNothing();
  if (changedRows(written) === 0) return null;
  await anchorOf(trail.env, tenantId).recordCheckpoint({ seq: point.seq, at: checkpoint.at, kind });
  return checkpoint;
}

/**
 * Seals the tenant's waiting events and signs a daily checkpoint where its chain moved on; null when
 * it did not (or cannot be trusted: verification says why).
 */
export async function checkpointTenant(trail: Trail, tenantId: string) {
  await sealTenant(trail, tenantId);
  const head = await trustedHead(trail, tenantId);
  if (!head || head.seq === 0) return null;
  return writeCheckpoint(trail, tenantId, "daily", head);
}

/** The daily cron's part: every tenant's chain sealed and checkpointed. Returns how many moved on. */
export async function checkpointTenants(trail: Trail): Promise<number> {
  const all = await trail.db.select({ id: tenants.id }).from(tenants);
  let written = 0;
  for (const { id } of all) if (await checkpointTenant(trail, id)) written += 1;
  return written;
}

/** Verifies the tenant's whole trail (sealing what waits first) and records the outcome in its anchor. */
export async function verifyAuditTrail(trail: Trail, tenantId: string): Promise<Verification> {
  await sealTenant(trail, tenantId);
  let result = await readAndVerify(trail, tenantId);
  // A purge may have cut the chain while it was read: a break is read once more before it counts.
  if (!result.ok) result = await readAndVerify(trail, tenantId);
  await anchorOf(trail.env, tenantId).recordVerification({
    at: now(),
    ok: result.ok,
    checked: result.checked,
    brokenId: result.firstBroken?.id ?? null,
    reason: result.firstBroken?.reason ?? null,
  });
  return result;
}

/** The tenant's trail as D1 holds it, for verifyTrail. */
function d1Reader(db: Db, tenantId: string): TrailReader {
  return {
    checkpoints: () => checkpointsOf(db, tenantId),
    sealedAfter: (seq, limit) => sealedAfter(db, tenantId, seq, limit),
    waiting: (limit) =>
      db
        .select(chainedColumns)
        .from(auditEvents)
        .where(and(eq(auditEvents.tenantId, tenantId), isNull(auditEvents.seq)))
        .limit(limit),
  };
}

async function readAndVerify(trail: Trail, tenantId: string): Promise<Verification> {
  const anchor = await anchorOf(trail.env, tenantId).head();
  return verifyTrail(trail.db.auditKey, tenantId, d1Reader(trail.db, tenantId), anchor);
}

/** The trail's state as its anchor records it: head, last checkpoint, last verification. */
export function trailStatus(trail: Trail, tenantId: string) {
  return anchorOf(trail.env, tenantId).status();
}

/**
 * Deletes audit events older than the retention period (AUDIT_RETENTION_DAYS; the daily cron). Each
 * tenant's chain is cut after its last event past retention and before its first that is not, never
 * past a break (the evidence of tampering stays), and a signed "cut" checkpoint there is where
 * verification starts from then on. Times are trusted only where the chain verifies, since `at` is
 * covered by each event's MAC.
 */
export async function purgeOldAuditEvents(trail: Trail, retentionDays: number): Promise<number> {
  const { db } = trail;
  const cutoff = now() - retentionDays * 24 * 60 * 60 * 1000;
  const old = await db
    .selectDistinct({ tenantId: auditEvents.tenantId })
    .from(auditEvents)
    .where(lte(auditEvents.at, cutoff));
  let deleted = 0;
  for (const { tenantId } of old) {
    const verification = await verifyAuditTrail(trail, tenantId);
    const head = await trustedHead(trail, tenantId);
    if (!head) continue;
    const [kept] = await db
      .select({ seq: min(auditEvents.seq) })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, tenantId), gt(auditEvents.at, cutoff), gt(auditEvents.seq, 0)));
    // Never past what verified in order from the start: times are trusted only under their MACs.
    const cut = Math.min(kept?.seq != null ? kept.seq - 1 : head.seq, verification.reached);
    const [at] = await db
      .select({ chain: auditEvents.chain })
      .from(auditEvents)
      .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.seq, cut)));
    if (cut <= 0 || !at?.chain) continue;
    // The checkpoint first: a purge that stops half way leaves events the verifier skips, never a
    // start it cannot vouch for.
    await writeCheckpoint(trail, tenantId, "cut", { seq: cut, chain: at.chain });
    deleted += await deleteInChunks(
      db,
      auditEvents,
      auditEvents.id,
      and(eq(auditEvents.tenantId, tenantId), lte(auditEvents.seq, cut)) ?? sql`0`,
    );
  }
  return deleted;
}
