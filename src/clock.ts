// The server clock. Every time-dependent rule (token expiry, TOTP steps, lockouts, grace periods)
// reads it here and nowhere else, so tests can move time for the whole Worker at once.
let offsetMs = 0;
let frozenAt: number | null = null;

export function now(): number {
  return frozenAt ?? Date.now() + offsetMs;
}

/** Test hook: moves the clock forward (or back) by `ms` for every reader in this isolate. */
export function advanceClock(ms: number): void {
  if (frozenAt !== null) frozenAt += ms;
  else offsetMs += ms;
}

/** Test hook: stops the clock at `at` (default: now), for tests that work to the millisecond. */
export function freezeClock(at: number = now()): void {
  frozenAt = at;
}

/** Test hook: puts the clock back to real time. */
export function resetClock(): void {
  offsetMs = 0;
  frozenAt = null;
}
