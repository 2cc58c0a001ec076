// The attempt budgets as the rest of the Worker sees them: which objects an attempt touches and how,
// and the one way every caller records an attempt, audits the lock it caused, and refuses it.
import { insertAudit } from "../auth/audit";
import type { Db } from "../db/client";
import type { User } from "../db/schema";
import { sha256Hex } from "../encoding";
import { ApiError } from "../errors";
import type { EmailJob } from "../reminders/jobs";
import type { Outcome, Verdict } from "./policy";

/** Names the per-account object: tenant and normalised username, so case variants share a counter. */
function accountCounter(env: Env, tenantId: string, usernameKey: string) {
  return env.ATTEMPTS.getByName(`account:${tenantId}:${usernameKey}`);
}

/** Names the per-tenant object: budgets of actions on the tenant as a whole. */
function tenantCounter(env: Env, tenantId: string) {
  return env.ATTEMPTS.getByName(`tenant:${tenantId}`);
}

/** Names the per-address object; `address` is an addressKey. */
function addressCounter(env: Env, address: string) {
  return env.ATTEMPTS.getByName(`ip:${address}`);
}

/**
 * The client a per-address budget counts: an IPv4 address as it is, an IPv6 address by its /64.
 * One subscriber holds a whole /64 (often more), so counting single IPv6 addresses would give an
 * attacker a fresh budget per request. IPv4-mapped IPv6 counts as the IPv4 address it carries.
 */
export function addressKey(ip: string): string {
  const address = ip.trim().toLowerCase().replace(/%.*$/, ""); // a zone id names a local interface
  if (!address.includes(":")) return address;
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped?.[1]) return mapped[1];
  const halves = address.split("::");
  if (halves.length > 2) return address; // not an address; Cloudflare never sends one
  const groups = (half: string | undefined) => (half ? half.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) stands for two groups.
  const tailGroups = tail.length + (tail.at(-1)?.includes(".") ? 1 : 0);
  const missing = halves.length === 2 ? 8 - head.length - tailGroups : 0;
  const prefix = [...head, ...Array<string>(Math.max(0, missing)).fill("0"), ...tail].slice(0, 4);
  if (prefix.length < 4 || !prefix.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return address;
  return `${prefix.map((group) => Number.parseInt(group, 16).toString(16)).join(":")}::/64`;
}

export interface SignInAttempt {
  tenantId: string;
  usernameKey: string;
  /** The account, once the password (or a token standing for it) proved who is signing in. */
  user: User | undefined;
  /** "failure" for a wrong password, "success" for a right one, "checked" when none was sent. */
  password: Outcome;
  /** "checked" when no second factor was evaluated. */
  mfa: Outcome;
  /** The sign-in completed: the account's counters start over. */
  completed: boolean;
}

/** What recording an attempt needs: the counters, and the audit trail for the lock it may cause. */
export interface AttemptContext {
  env: Env;
  db: Db;
  ip: string;
}

/**
 * Records a sign-in attempt with the account's object and the address's object (two calls, in
 * parallel), audits a lock it caused, and refuses it (429) while either object is locked, whatever
 * the outcome, so a correct password or code cannot be told apart from a wrong one while locked.
 *
 * The second-factor budget is consulted only once the password is right: its lock must tell nothing
 * to a stranger (a wrong password for a locked account answers like one for an unknown account).
 */
export async function enforceSignInAttempt(ctx: AttemptContext, attempt: SignInAttempt): Promise<void> {
  const client = addressKey(ctx.ip);
  const passwordKnown = attempt.password !== "failure";
  const account = accountCounter(ctx.env, attempt.tenantId, attempt.usernameKey).attempt(
    [
      { bucket: `password:${client}`, policy: "password", outcome: attempt.password },
      ...(passwordKnown ? [{ bucket: "mfa", policy: "mfa" as const, outcome: attempt.mfa }] : []),
    ],
    attempt.completed,
  );
  // The address's budget counts password guesses. A step that sends no password (an mfa_token,
  // which stands for one that was right minutes ago) has nothing to count there.
  if (attempt.password === "checked") {
    const [verdict] = await callCounters([account]);
    // Awaited, not returned: the runtime reports a returned rejection as unhandled for a moment.
    await refuseUnlessAllowed(ctx, verdict, attempt.user);
    return;
  }
  const [accountVerdict, addressVerdict] = await callCounters([
    account,
    // A success does not clear the address's budget: one valid account must not launder guesses.
    addressCounter(ctx.env, client).attempt([
      { bucket: "password", policy: "address", outcome: passwordKnown ? "checked" : "failure" },
    ]),
  ]);
  await refuseUnlessAllowed(ctx, mergeVerdicts(accountVerdict, addressVerdict), attempt.user);
}

/**
 * Records an MFA code checked outside sign-in (verify, disable, regenerate) against the account's
 * second-factor budget, audits a lock it caused, and refuses it while locked.
 */
/** A passkey sign-in challenge asked for without an account: the address's budget, refused when spent. */
export async function takeChallengeBudget(ctx: AttemptContext): Promise<void> {
  const [verdict] = await callCounters([
    addressCounter(ctx.env, addressKey(ctx.ip)).attempt([
      { bucket: "passkey-challenges", policy: "passkeyChallengesPerAddress", outcome: "failure" },
    ]),
  ]);
  assertAllowed(verdict);
}

/**
 * A passkey sign-in whose credential is nobody's (or whose challenge is gone): no account to count
 * it against, so the address's budget does, as it does a password for an unknown account.
 */
export async function enforceUnknownCredential(ctx: AttemptContext): Promise<void> {
  const [verdict] = await callCounters([
    addressCounter(ctx.env, addressKey(ctx.ip)).attempt([
      { bucket: "password", policy: "address", outcome: "failure" },
    ]),
  ]);
  assertAllowed(verdict);
}

export async function enforceMfaAttempt(ctx: AttemptContext, user: User, ok: boolean): Promise<void> {
  const [verdict] = await callCounters([
    accountCounter(ctx.env, user.tenantId, user.usernameKey).attempt([
      { bucket: "mfa", policy: "mfa", outcome: ok ? "success" : "failure" },
    ]),
  ]);
  await refuseUnlessAllowed(ctx, verdict, user);
}

/** Counts one "send reminders" click against the tenant's budget; refuses it once spent. */
export async function enforceReminderBudget(env: Env, tenantId: string): Promise<void> {
  const [verdict] = await callCounters([
    tenantCounter(env, tenantId).attempt([{ bucket: "reminders", policy: "reminders", outcome: "failure" }]),
  ]);
  assertAllowed(verdict);
}

/**
 * Counts an admin's MFA reset against the tenant's budget and the target user's (kept in the
 * tenant's object: the reset itself clears the account's); refuses it once either is spent.
 */
export async function enforceResetBudget(env: Env, tenantId: string, userId: string): Promise<void> {
  const [verdict] = await callCounters([
    tenantCounter(env, tenantId).attempt([
      { bucket: "resets", policy: "resetsPerTenant", outcome: "failure" },
      { bucket: `resets:${userId}`, policy: "resetsPerUser", outcome: "failure" },
    ]),
  ]);
  assertAllowed(verdict);
}

/** What counting one email found: whether it may go, and which daily cap it has just reached. */
export type MailBudget = { allowed: boolean; reached: "tenant" | "recipient" | null };

/**
 * Counts one email against two daily caps; over either, it is not sent. Reminders (bulk mail to
 * addresses nobody verified) count against the tenant's reminder cap and against the recipient's
 * cap across every tenant. Security emails (a change to the account itself) count against caps of
 * their own tenant only, which neither reminders nor another tenant can fill: nobody can use up a
 * user's budget to hide the email that tells them their MFA was turned off. Password reset links,
 * which anyone may ask for, have caps of their own in the tenant, for the same reason.
 */
export async function takeMailBudget(
  env: Env,
  email: { kind: EmailJob["kind"]; tenantId: string; to: string },
  tenantDailyLimit: number,
): Promise<MailBudget> {
  const recipient = await sha256Hex(mailboxKey(email.to)); // a Durable Object's name is no place for it
  const tenant = tenantCounter(env, email.tenantId);
  const tenantBucket = MAIL_BUCKETS[email.kind];
  const [tenantVerdict, inboxVerdict] = await callCounters([
    tenant.attempt([
      { bucket: tenantBucket, policy: "mailPerTenant", outcome: "failure", limit: tenantDailyLimit },
    ]),
    email.kind === "reminder"
      ? env.ATTEMPTS.getByName(`recipient:${recipient}`).attempt([
          { bucket: "mail", policy: "mailPerRecipient", outcome: "failure" },
        ])
      : tenant.attempt([
          { bucket: `${tenantBucket}:${recipient}`, policy: "mailPerRecipient", outcome: "failure" },
        ]),
  ]);
  const reachedNow = (verdict: Verdict) => verdict.allowed && verdict.lockedNow;
  return {
    allowed: tenantVerdict.allowed && inboxVerdict.allowed,
    reached: reachedNow(tenantVerdict) ? "tenant" : reachedNow(inboxVerdict) ? "recipient" : null,
  };
}

/** The tenant's daily cap each kind of email counts against. */
const MAIL_BUCKETS: Record<EmailJob["kind"], string> = {
  reminder: "mail",
  security: "security-mail",
  password_reset: "reset-mail",
};

/**
 * Counts a request for a password reset link. The address's budget refuses past it (429). The
 * account's budget, kept whether or not the account exists, decides whether a link is sent: a
 * stranger asking for one is answered as always but cannot fill the user's inbox. An admin's
 * requests count in a budget of their own, refused past it: strangers spending the account's
 * budget must not stop an admin from sending the user a way back in.
 */
export async function takeResetLinkBudget(
  ctx: AttemptContext,
  request: { tenantId: string; usernameKey: string; by: "self" | "admin" },
): Promise<boolean> {
  const account = accountCounter(ctx.env, request.tenantId, request.usernameKey).attempt([
    {
      bucket: request.by === "admin" ? "admin-reset-links" : "reset-links",
      policy: "resetLinksPerAccount",
      outcome: "failure",
    },
  ]);
  if (request.by === "admin") {
    const [verdict] = await callCounters([account]);
    assertAllowed(verdict);
    return true;
  }
  const [accountVerdict, addressVerdict] = await callCounters([
    account,
    addressCounter(ctx.env, addressKey(ctx.ip)).attempt([
      { bucket: "reset-links", policy: "resetLinksPerAddress", outcome: "failure" },
    ]),
  ]);
  assertAllowed(addressVerdict);
  return accountVerdict.allowed;
}

/** The mailbox an address reaches: case folded, a "+tag" of the local part dropped (a+1@ is a@). */
export function mailboxKey(address: string): string {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at).replace(/\+.*$/, "");
  return `${local}@${address.slice(at + 1)}`.toLowerCase();
}

/**
 * Clears an account's second-factor budget (an MFA reset): its owner may enroll again at once.
 * The password budgets stay: a reset must not hand a guesser a fresh allowance.
 */
export async function resetSecondFactorBudget(env: Env, tenantId: string, usernameKey: string) {
  await callCounters([accountCounter(env, tenantId, usernameKey).reset(["mfa"])]);
}

/** The attempt that locked an account leaves a trace in the audit trail; a refused one throws 429. */
async function refuseUnlessAllowed(ctx: AttemptContext, verdict: Verdict, user: User | undefined) {
  if (verdict.allowed && verdict.lockedNow && user) {
    await insertAudit(ctx.db, {
      tenantId: user.tenantId,
      action: "mfa.lockout",
      actorId: null,
      targetId: user.id,
      ip: ctx.ip,
    });
  }
  assertAllowed(verdict);
}

function assertAllowed(verdict: Verdict): void {
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
