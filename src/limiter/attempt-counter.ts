// The attempt counter: a Durable Object per account and per client IP (never one global object).
// Each call reads, decides and writes without any I/O in between, so a burst of parallel attempts is
// answered one at a time and can never overrun a budget.
import { DurableObject } from "cloudflare:workers";
import { now } from "../clock";
import { type AttemptEntry, POLICIES, type Policy, type Verdict } from "./policy";

interface BucketState {
  failures: number; // within the current window
  windowStart: number;
  lockedUntil: number;
  lockouts: number; // lockouts since the last success, for the exponential growth
  consecutive: number; // failures since the last success, for a policy's absolute cap
  expiresAt: number; // when this state may be forgotten
}

export class AttemptCounter extends DurableObject<Env> {
  /**
   * Records one attempt across `entries`. While any bucket is locked the attempt is refused whatever
   * its outcome, and nothing changes. `clearAll` forgets every bucket (a completed sign-in).
   */
  async attempt(entries: AttemptEntry[], clearAll = false): Promise<Verdict> {
    const at = now();
    const states = entries.map((entry) => this.read(entry.bucket, at));
    const lockedUntil = Math.max(0, ...states.map((s) => s.lockedUntil));
    if (lockedUntil > at) {
      return { allowed: false, retryAfterSeconds: Math.ceil((lockedUntil - at) / 1000) };
    }
    let lockedNow = false;
    let earliestExpiry = Number.POSITIVE_INFINITY;
    entries.forEach((entry, i) => {
      const state = states[i] as BucketState;
      if (entry.outcome === "failure") {
        lockedNow = this.recordFailure(entry, state, at) || lockedNow;
        earliestExpiry = Math.min(earliestExpiry, state.expiresAt);
      } else if (entry.outcome === "success" && state.expiresAt > 0) {
        // Only a stored bucket is deleted: a clean success, the usual sign-in, writes nothing.
        this.ctx.storage.kv.delete(entry.bucket);
      }
    });
    if (clearAll) this.clear();
    else await this.scheduleCleanupBy(earliestExpiry);
    return { allowed: true, lockedNow };
  }

  /** Forgets the named buckets (an admin's MFA reset forgets the second-factor budget). */
  async reset(buckets: string[]): Promise<void> {
    for (const bucket of buckets) this.ctx.storage.kv.delete(bucket);
  }

  override async alarm(): Promise<void> {
    const at = now();
    for (const [key, state] of this.ctx.storage.kv.list<BucketState>()) {
      if (state.expiresAt <= at) this.ctx.storage.kv.delete(key);
    }
    await this.scheduleCleanup();
  }

  private read(bucket: string, at: number): BucketState {
    const state = this.ctx.storage.kv.get<BucketState>(bucket);
    if (state && state.expiresAt > at) return state;
    return { failures: 0, windowStart: at, lockedUntil: 0, lockouts: 0, consecutive: 0, expiresAt: 0 };
  }

  /** Returns true when this failure locked the bucket. */
  private recordFailure(entry: AttemptEntry, state: BucketState, at: number): boolean {
    const policy: Policy = { ...POLICIES[entry.policy], ...(entry.limit ? { limit: entry.limit } : {}) };
    if (at - state.windowStart >= policy.windowMs) {
      state.windowStart = at;
      state.failures = 0;
    }
    state.failures += 1;
    state.consecutive += 1;
    let locked = false;
    if (policy.absoluteCap !== undefined && state.consecutive >= policy.absoluteCap) {
      // Past the absolute cap the bucket stays locked until a success or a reset clears it.
      state.lockedUntil = Number.MAX_SAFE_INTEGER;
      locked = true;
    } else if (state.failures >= policy.limit) {
      const lockMs = Math.min(policy.baseLockMs * 2 ** state.lockouts, policy.maxLockMs);
      state.lockedUntil = at + lockMs;
      state.lockouts += 1;
      state.failures = 0;
      state.windowStart = state.lockedUntil;
      locked = true;
    }
    // Remember the growth for a while after the lock ends, so failures that continue keep doubling it.
    state.expiresAt = Math.max(state.windowStart + policy.windowMs, state.lockedUntil) + policy.maxLockMs;
    this.ctx.storage.kv.put(entry.bucket, state);
    return locked;
  }

  private clear(): void {
    for (const [key] of this.ctx.storage.kv.list()) this.ctx.storage.kv.delete(key);
  }

  /**
   * Brings the alarm forward to `expiresAt` if it is set later (or not at all). An attempt touches a
   * few buckets while an object may hold many (one per guessing address), so it never lists them.
   */
  private async scheduleCleanupBy(expiresAt: number): Promise<void> {
    if (!Number.isFinite(expiresAt) || expiresAt >= Number.MAX_SAFE_INTEGER) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || expiresAt < current) await this.ctx.storage.setAlarm(expiresAt);
  }

  /** An alarm at the earliest expiry, so idle objects end up holding nothing. */
  private async scheduleCleanup(): Promise<void> {
    let next = Number.POSITIVE_INFINITY;
    for (const [, state] of this.ctx.storage.kv.list<BucketState>()) next = Math.min(next, state.expiresAt);
    if (Number.isFinite(next) && next < Number.MAX_SAFE_INTEGER) await this.ctx.storage.setAlarm(next);
    else await this.ctx.storage.deleteAlarm();
  }
}
