// The server clock. Every time-dependent rule (token expiry, TOTP steps, lockouts, grace periods)
// reads it here and nowhere else, so tests can move time for the whole Worker at once.
let offsetMs = 0;

export function now(): number {
  return Date.now() + offsetMs;
}

/** Test hook: moves the clock forward (or back) by `ms` for every reader in this isolate. */
export function advanceClock(ms: number): void {
  offsetMs += ms;
}

/** Test hook: puts the clock back to real time. */
export function resetClock(): void {
  offsetMs = 0;
}
