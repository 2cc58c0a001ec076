// What must not live in D1 about each tenant's audit trail: a Durable Object per tenant holds the
// chain's last sealed (seq, chain), the last checkpoint written and the last verification's outcome.
// Someone who can write D1 but not this Worker can rewrite the trail's rows and checkpoints, but not
// these, so a chain reset, cut short or rebuilt in D1 no longer ends where the anchor says (neither
// the sealer nor the verifier goes along with it), and the Compliance page cannot be told a
// verification passed, or a checkpoint was written, that did not.
import { DurableObject } from "cloudflare:workers";
import type { ChainPoint, CheckpointKind } from "./chain";

export interface RecordedVerification {
  at: number;
  ok: boolean;
  checked: number;
  brokenId: string | null;
  reason: string | null;
}

export interface AnchorStatus {
  head: ChainPoint | null;
  verification: RecordedVerification | null;
  checkpoint: { seq: number; at: number; kind: CheckpointKind } | null;
}

export class AuditAnchor extends DurableObject<Env> {
  async status(): Promise<AnchorStatus> {
    const kv = this.ctx.storage.kv;
    return {
      head: kv.get<ChainPoint>("head") ?? null,
      verification: kv.get<RecordedVerification>("verification") ?? null,
      checkpoint: kv.get<AnchorStatus["checkpoint"]>("checkpoint") ?? null,
    };
  }

  /** The last sealed place of the tenant's chain, or null before its first seal. */
  async head(): Promise<ChainPoint | null> {
    return this.ctx.storage.kv.get<ChainPoint>("head") ?? null;
  }

  /**
   * Moves the head from `from` to `to`, only if it still is `from` (null: not started) and `to` is
   * further on. False when another sealer moved it first.
   */
  async advance(from: ChainPoint | null, to: ChainPoint): Promise<boolean> {
    const current = this.ctx.storage.kv.get<ChainPoint>("head") ?? null;
    const same =
      current === null
        ? from === null
        : from !== null && current.seq === from.seq && current.chain === from.chain;
    if (!same || to.seq <= (current?.seq ?? 0)) return false;
    this.ctx.storage.kv.put("head", to);
    return true;
  }

  async recordVerification(outcome: RecordedVerification): Promise<void> {
    this.ctx.storage.kv.put("verification", outcome);
  }

  async recordCheckpoint(checkpoint: NonNullable<AnchorStatus["checkpoint"]>): Promise<void> {
    this.ctx.storage.kv.put("checkpoint", checkpoint);
  }
}
