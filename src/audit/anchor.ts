// The head of each tenant's audit chain, kept outside D1: a Durable Object per tenant holds the
// last sealed (seq, chain). Someone who can write D1 but not this Worker can rewrite the trail's
// rows and checkpoints, but not the anchor, so a chain reset, cut short or rebuilt in D1 no longer
// ends where the anchor says, and neither the sealer nor the verifier goes along with it.
import { DurableObject } from "cloudflare:workers";
import type { ChainPoint as ChainHead } from "./chain";

const HEAD = "head";

export class AuditAnchor extends DurableObject<Env> {
  /** The last sealed place of the tenant's chain, or null before its first seal. */
  async head(): Promise<ChainHead | null> {
    return this.ctx.storage.kv.get<ChainHead>(HEAD) ?? null;
  }

  /**
   * Moves the head from `from` to `to`, only if it still is `from` (null: not started) and `to` is
   * further on. False when another sealer moved it first.
   */
  async advance(from: ChainHead | null, to: ChainHead): Promise<boolean> {
    const current = this.ctx.storage.kv.get<ChainHead>(HEAD) ?? null;
    const same =
      current === null
        ? from === null
        : from !== null && current.seq === from.seq && current.chain === from.chain;
    if (!same || to.seq <= (current?.seq ?? 0)) return false;
    this.ctx.storage.kv.put(HEAD, to);
    return true;
  }
}
