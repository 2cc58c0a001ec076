// The attempt budgets as the rest of the Worker sees them: which objects an attempt touches and how.
import { ApiError } from "../errors";
import type { Outcome, Verdict } from "./policy";

/** Names the per-account object: tenant and normalised username, so case variants share a counter. */
function accountCounter(env: Env, tenantId: string, usernameKey: string) {
  return env.ATTEMPTS.getByName(`account:${tenantId}:${usernameKey}`);
}

function addressCounter(env: Env, ip: string) {
  return env.ATTEMPTS.getByName(`ip:${ip}`);
}

export interface LoginAttempt {
  tenantId: string;
  usernameKey: string;
  ip: string;
  passwordOk: boolean;
  /** "checked" when no code was evaluated (wrong password, or no code sent). */
  mfa: Outcome;
  /** The sign-in completed: the account's counters start over. */
  completed: boolean;
}

/**
 * Records a sign-in attempt with the account's object and the address's object (two calls, in
 * parallel). Refused while either is locked, whatever the outcome, so a correct password or code
 * cannot be told apart from a wrong one while locked.
 */
export async function recordLoginAttempt(env: Env, attempt: LoginAttempt): Promise<Verdict> {
  const password: Outcome = attempt.passwordOk ? "success" : "failure";
  const [account, address] = await callCounters([
    accountCounter(env, attempt.tenantId, attempt.usernameKey).attempt(
      [
        { bucket: `password:${attempt.ip}`, policy: "password", outcome: password },
        { bucket: "mfa", policy: "mfa", outcome: attempt.mfa },
      ],
      attempt.completed,
    ),
    // A success does not clear the address's budget: one valid account must not launder guesses.
    addressCounter(env, attempt.ip).attempt([
      { bucket: "password", policy: "address", outcome: attempt.passwordOk ? "checked" : "failure" },
    ]),
  ]);
  return mergeVerdicts(account, address);
}

/** Records an MFA code check outside sign-in (verify, disable, regenerate): the account's MFA budget. */
export async function recordMfaAttempt(env: Env, tenantId: string, usernameKey: string, ok: boolean) {
  const [verdict] = await callCounters([
    accountCounter(env, tenantId, usernameKey).attempt([
      { bucket: "mfa", policy: "mfa", outcome: ok ? "success" : "failure" },
    ]),
  ]);
  return verdict;
}

/** Counts one "send reminders" click against the tenant's budget. */
export async function recordTenantReminder(env: Env, tenantId: string): Promise<Verdict> {
  const [verdict] = await callCounters([
    env.ATTEMPTS.getByName(`tenant:${tenantId}`).attempt([
      { bucket: "reminders", policy: "reminders", outcome: "failure" },
    ]),
  ]);
  return verdict;
}

/** Clears an account's counters (an admin's MFA reset). */
export async function resetAccountCounters(env: Env, tenantId: string, usernameKey: string) {
  await callCounters([accountCounter(env, tenantId, usernameKey).reset()]);
}

export function assertAllowed(verdict: Verdict): asserts verdict is Extract<Verdict, { allowed: true }> {
  if (!verdict.allowed) {
    throw new ApiError("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  }
}

function mergeVerdicts(a: Verdict, b: Verdict): Verdict {
  if (!a.allowed || !b.allowed) {
    const wait = Math.max(a.allowed ? 0 : a.retryAfterSeconds, b.allowed ? 0 : b.retryAfterSeconds);
    return { allowed: false, retryAfterSeconds: wait };
  }
  return { allowed: true, lockedNow: a.lockedNow || b.lockedNow };
}

/** A counter that cannot be reached fails closed: the attempt is refused with 503, never let through. */
async function callCounters<T extends readonly unknown[]>(
  calls: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  try {
    return (await Promise.all(calls)) as unknown as T;
  } catch (error) {
    console.error("attempt counter unavailable", error);
    throw new ApiError("unavailable");
  }
}
