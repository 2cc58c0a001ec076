// The audit trail's tamper evidence, as pure functions over rows: the Worker (src/audit/seal.ts) and
// the operator CLI (scripts/verify-audit.ts) verify with this one implementation.
//
// - Each event gets a MAC of its content when it is written (under AUDIT_SIGNING_KEY, which D1
//   never holds), so a row cannot be edited or made up without the key.
// - Sealing gives the tenant's events consecutive `seq` numbers and a `chain` link that keys the
//   previous link with this event's MAC: an event cannot be removed or moved without the links
//   after it failing.
// - Checkpoints sign (seq, chain) daily and at the retention cut: the trail cannot be cut short
//   behind a checkpoint, and a purge leaves a signed starting point for what remains.
// HMAC-SHA-256 through node:crypto because it is synchronous: the MAC is made where an event's
// statement is built, inside batches that cannot wait for WebCrypto.
import { createHmac } from "node:crypto";

/** What an event's MAC covers: every column but the chain's own. `details` is the stored JSON text. */
export interface EventContent {
  id: string;
  tenantId: string;
  at: number;
  actorId: string | null;
  action: string;
  targetId: string | null;
  ip: string | null;
  details: string | null;
}

export interface ChainedEvent extends EventContent {
  mac: string | null;
  seq: number | null;
  chain: string | null;
}

export type CheckpointKind = "daily" | "cut";

export interface Checkpoint {
  tenantId: string;
  seq: number;
  chain: string;
  at: number;
  kind: CheckpointKind;
  signature: string;
}

/** Why verification stopped: the first link that does not hold. */
export type BreakReason =
  | "altered" // the event's content (or its MAC) is not what was written
  | "missing" // events before this one are gone: its seq does not follow the previous one
  | "out_of_order" // the event's link does not follow from the previous one: moved, or put in
  | "forged" // an unsealed event whose MAC was not made with our key
  | "truncated" // a checkpoint vouches for events that are no longer there
  | "checkpoint_mismatch" // the chain at a checkpoint's seq is not the one it signed
  | "checkpoint_invalid" // a checkpoint not signed with our key
  | "anchor_mismatch"; // the chain at the anchor's seq (kept outside D1) is not the anchor's

export interface Verification {
  ok: boolean;
  /** Sealed events whose MAC and link were checked. */
  checked: number;
  /** Events written but not sealed yet, their MAC checked. */
  pending: number;
  /** The last seq verified in order from the start: nothing past it may be trusted (or purged). */
  reached: number;
  firstBroken: { id: string | null; seq: number | null; reason: BreakReason } | null;
  lastCheckpoint: { seq: number; at: number; kind: CheckpointKind } | null;
}

function hmac(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64url");
}

export function macOf(key: Uint8Array, event: EventContent): string {
  const content = [
    event.id,
    event.tenantId,
    event.at,
    event.actorId,
    event.action,
    event.targetId,
    event.ip,
    event.details,
  ];
  return hmac(key, `audit-event\n${JSON.stringify(content)}`);
}

/** The link of event `seq`: the previous link ("" before the first event) keyed with its MAC. */
export function linkOf(
  key: Uint8Array,
  tenantId: string,
  seq: number,
  previous: string,
  mac: string,
): string {
  return hmac(key, `audit-link\n${tenantId}\n${seq}\n${previous}\n${mac}`);
}

export function signCheckpoint(key: Uint8Array, checkpoint: Omit<Checkpoint, "signature">): Checkpoint {
  return { ...checkpoint, signature: checkpointSignature(key, checkpoint) };
}

function checkpointSignature(key: Uint8Array, c: Omit<Checkpoint, "signature">): string {
  return hmac(key, `audit-checkpoint\n${c.tenantId}\n${c.seq}\n${c.chain}\n${c.at}\n${c.kind}`);
}

export function isSignedCheckpoint(key: Uint8Array, checkpoint: Checkpoint): boolean {
  const { signature, ...signed } = checkpoint;
  return checkpointSignature(key, signed) === signature;
}

/** A place in the chain: seq 0 with an empty link is the start. */
export interface ChainPoint {
  seq: number;
  chain: string;
}

export const CHAIN_START: ChainPoint = { seq: 0, chain: "" };

/**
 * Where a tenant's chain continues from: the latest retention cut (the events up to it were purged
 * on purpose), or the start. Verification reads the sealed events after `seq`. Only checkpoints
 * signed with `key` count.
 */
export function chainStart(key: Uint8Array, checkpoints: Checkpoint[]): ChainPoint {
  const cut = checkpoints
    .filter((c) => c.kind === "cut" && isSignedCheckpoint(key, c))
    .sort((a, b) => b.seq - a.seq)[0];
  return cut ? { seq: cut.seq, chain: cut.chain } : CHAIN_START;
}

/** Why `event` cannot be the next one after `previous`, or null when it follows. */
export function linkProblem(
  key: Uint8Array,
  tenantId: string,
  previous: ChainPoint,
  event: ChainedEvent,
): BreakReason | null {
  const seq = event.seq ?? 0;
  if (seq !== previous.seq + 1) return seq > previous.seq + 1 ? "missing" : "out_of_order";
  if (event.tenantId !== tenantId || event.mac !== macOf(key, event)) return "altered";
  if (event.chain !== linkOf(key, tenantId, seq, previous.chain, event.mac)) return "out_of_order";
  return null;
}

/**
 * Checks one tenant's trail as it is read (verifyTrail): `checkEvent` for each sealed event after
 * chainStart's seq in ascending seq, `checkPending` for each unsealed one, then `finish`.
 */
class ChainVerifier {
  private previous: string;
  private expected: number;
  private checked = 0;
  private pending = 0;
  private broken: Verification["firstBroken"] = null;
  private forged: Verification["firstBroken"] = null;
  private readonly signedAt = new Map<number, string>();
  private readonly lastCheckpoint: Checkpoint | undefined;

  /**
   * `anchor`: the chain's head as kept outside D1 (src/audit/anchor.ts), when the reader can reach
   * it; the trail must reach it with the same link.
   */
  constructor(
    private readonly key: Uint8Array,
    private readonly tenantId: string,
    checkpoints: Checkpoint[],
    private readonly anchor: ChainPoint | null = null,
  ) {
    const sorted = [...checkpoints].sort((a, b) => a.seq - b.seq);
    this.lastCheckpoint = sorted.at(-1);
    for (const checkpoint of sorted) {
      if (checkpoint.tenantId !== tenantId || !isSignedCheckpoint(key, checkpoint)) {
        this.broken ??= { id: null, seq: checkpoint.seq, reason: "checkpoint_invalid" };
      }
      this.signedAt.set(checkpoint.seq, checkpoint.chain);
    }
    const start = chainStart(key, sorted);
    this.previous = start.chain;
    this.expected = start.seq + 1;
    if (anchor && anchor.seq === start.seq && anchor.chain !== start.chain) {
      this.broken ??= { id: null, seq: anchor.seq, reason: "anchor_mismatch" };
    }
  }

  get isBroken(): boolean {
    return this.broken !== null;
  }

  checkEvent(event: ChainedEvent): void {
    if (this.broken) return;
    const at = { id: event.id, seq: event.seq };
    const seq = event.seq ?? 0;
    const problem = linkProblem(
      this.key,
      this.tenantId,
      { seq: this.expected - 1, chain: this.previous },
      event,
    );
    if (problem) {
      this.broken = { ...at, reason: problem };
      return;
    }
    const signed = this.signedAt.get(seq);
    if (signed !== undefined && signed !== event.chain) {
      this.broken = { ...at, reason: "checkpoint_mismatch" };
      return;
    }
    if (this.anchor?.seq === seq && this.anchor.chain !== event.chain) {
      this.broken = { ...at, reason: "anchor_mismatch" };
      return;
    }
    this.previous = event.chain ?? "";
    this.expected = seq + 1;
    this.checked += 1;
  }

  checkPending(event: ChainedEvent): void {
    if (this.broken) return;
    if (event.tenantId !== this.tenantId || event.mac !== macOf(this.key, event)) {
      this.forged ??= { id: event.id, seq: null, reason: "forged" };
      return;
    }
    this.pending += 1;
  }

  finish(): Verification {
    const reached = this.expected - 1;
    const vouched = Math.max(this.lastCheckpoint?.seq ?? 0, this.anchor?.seq ?? 0);
    if (!this.broken && vouched > reached) {
      this.broken = { id: null, seq: reached + 1, reason: "truncated" };
    }
    // A forged unsealed event is reported only after the sealed chain's own breaks.
    this.broken ??= this.forged;
    const last = this.lastCheckpoint;
    return {
      ok: this.broken === null,
      checked: this.checked,
      pending: this.pending,
      reached,
      firstBroken: this.broken,
      lastCheckpoint: last ? { seq: last.seq, at: last.at, kind: last.kind } : null,
    };
  }
}

/** Where a verification reads one tenant's trail: D1 through the Worker, or wrangler (the CLI). */
export interface TrailReader {
  checkpoints(): Promise<Checkpoint[]>;
  /** Sealed events with a seq above `seq`, in seq order. */
  sealedAfter(seq: number, limit: number): Promise<ChainedEvent[]>;
  /** Events not sealed yet. */
  waiting(limit: number): Promise<ChainedEvent[]>;
}

/** Events read per query while verifying. */
const VERIFY_PAGE = 1000;

/** Reads and checks a tenant's whole trail a page at a time, stopping at the first break. */
export async function verifyTrail(
  key: Uint8Array,
  tenantId: string,
  reader: TrailReader,
  anchor: ChainPoint | null,
): Promise<Verification> {
  const checkpoints = await reader.checkpoints();
  const verifier = new ChainVerifier(key, tenantId, checkpoints, anchor);
  let after = chainStart(key, checkpoints).seq;
  while (!verifier.isBroken) {
    const page = await reader.sealedAfter(after, VERIFY_PAGE);
    for (const event of page) verifier.checkEvent(event);
    const last = page.at(-1);
    if (!last || page.length < VERIFY_PAGE) break;
    after = last.seq ?? after;
  }
  for (const event of await reader.waiting(VERIFY_PAGE)) verifier.checkPending(event);
  return verifier.finish();
}
