// The attempt counter on its own: budgets, lockout growth, the absolute cap and idle expiry.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { advanceClock, freezeClock, now } from "../../src/clock";
import type { AttemptCounter } from "../../src/limiter/attempt-counter";
import { POLICIES } from "../../src/limiter/policy";

const fail = [{ bucket: "mfa", policy: "mfa" as const, outcome: "failure" as const }];
const succeed = [{ bucket: "mfa", policy: "mfa" as const, outcome: "success" as const }];

function counter() {
  return env.ATTEMPTS.getByName(`test:${crypto.randomUUID()}`);
}

describe("attempt counter", () => {
  it("allows exactly the policy's failures, then locks", async () => {
    const stub = counter();
    const verdicts = [];
    for (let i = 0; i < POLICIES.mfa.limit + 2; i++) verdicts.push(await stub.attempt(fail));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(POLICIES.mfa.limit);
    expect(verdicts[POLICIES.mfa.limit - 1]).toEqual({ allowed: true, lockedNow: true });
    expect(verdicts.at(-1)).toMatchObject({ allowed: false, retryAfterSeconds: 15 * 60 });
  });

  it("refuses a success while locked and changes nothing", async () => {
    const stub = counter();
    for (let i = 0; i < POLICIES.mfa.limit; i++) await stub.attempt(fail);
    expect((await stub.attempt(succeed)).allowed).toBe(false);
    expect((await stub.attempt(succeed)).allowed).toBe(false);
  });

  it("decides a burst one attempt at a time: 30 parallel failures get 5 through", async () => {
    const stub = counter();
    const verdicts = await Promise.all(Array.from({ length: 30 }, () => stub.attempt(fail)));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(POLICIES.mfa.limit);
  });

  it("clears the bucket on success", async () => {
    const stub = counter();
    for (let i = 0; i < POLICIES.mfa.limit - 1; i++) await stub.attempt(fail);
    await stub.attempt(succeed);
    for (let i = 0; i < POLICIES.mfa.limit - 1; i++) expect((await stub.attempt(fail)).allowed).toBe(true);
  });

  it("stays locked for good after 100 consecutive failures, until a reset", async () => {
    const stub = counter();
    let failures = 0;
    while (failures < (POLICIES.mfa.absoluteCap ?? 0)) {
      const verdict = await stub.attempt(fail);
      if (verdict.allowed) failures++;
      else advanceClock(verdict.retryAfterSeconds * 1000);
    }
    const after = await stub.attempt(succeed);
    expect(after.allowed).toBe(false);
    advanceClock(365 * 24 * 3600 * 1000);
    expect((await stub.attempt(succeed)).allowed).toBe(false);
    await stub.reset(["mfa"]);
    expect((await stub.attempt(succeed)).allowed).toBe(true);
  });

  it.each(["address", "password", "reminders"] as const)(
    "never locks a %s budget for more than a day, however long failures continue",
    async (policy) => {
      const stub = counter();
      const entry = [{ bucket: policy, policy, outcome: "failure" as const }];
      const waits: number[] = [];
      // Enough lockouts for the doubling to reach its ceiling, and well past 100 failures.
      while (waits.length < 12) {
        const verdict = await stub.attempt(entry);
        if (!verdict.allowed) {
          waits.push(verdict.retryAfterSeconds);
          advanceClock(verdict.retryAfterSeconds * 1000);
        }
      }
      expect(Math.max(...waits)).toBe(POLICIES[policy].maxLockMs / 1000);
      expect(Math.max(...waits)).toBeLessThanOrEqual(24 * 3600);
      expect((await stub.attempt(entry)).allowed).toBe(true);
    },
  );

  it("forgets everything once idle: the alarm leaves the object empty", async () => {
    const stub = counter();
    await stub.attempt(fail);
    const stored = await runInDurableObject(stub, (_instance: AttemptCounter, state) => [
      ...state.storage.kv.list(),
    ]);
    expect(stored).toHaveLength(1);
    advanceClock(POLICIES.mfa.windowMs + POLICIES.mfa.maxLockMs + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await runInDurableObject(stub, async (_instance: AttemptCounter, state) => ({
      keys: [...state.storage.kv.list()].length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(after).toEqual({ keys: 0, alarm: null });
  });

  it("keeps its alarm at the earliest expiry as buckets come and go", async () => {
    const stub = counter();
    const alarm = () =>
      runInDurableObject(stub, (_instance: AttemptCounter, state) => state.storage.getAlarm());
    freezeClock();
    const first = now() + POLICIES.mfa.windowMs + POLICIES.mfa.maxLockMs;
    await stub.attempt(fail);
    expect(await alarm()).toBe(first);
    // A later failure of another bucket expires later: the alarm stays where it is.
    advanceClock(60_000);
    await stub.attempt([{ bucket: "password:192.0.2.1", policy: "password", outcome: "failure" }]);
    expect(await alarm()).toBe(first);
    // Once the first bucket has expired (and the second not yet), the alarm removes it and moves on.
    advanceClock(POLICIES.mfa.windowMs + POLICIES.mfa.maxLockMs - 30_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarm()).toBe(first + 60_000);
  });
});
