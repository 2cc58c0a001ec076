// How many failures each kind of attempt may have, and how long a lockout lasts.

export interface Policy {
  /** Failures allowed within one window before the bucket locks. */
  limit: number;
  windowMs: number;
  /** The first lockout; each further one while failures continue doubles it, up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /**
   * Consecutive failures after which the bucket stays locked until a success or a reset clears it.
   * Only a budget that a success can clear may have one: an address or an action budget never
   * sees a success, so a cap there would lock everyone behind it out for good.
   */
  absoluteCap?: number;
}

const MINUTE = 60_000;

export const POLICIES = {
  // Wrong MFA codes with the right password: 5 per account per 15 minutes (security.md), and never
  // more than 100 in a row (NIST 800-63B §5.2.2) until a correct code or an admin's reset.
  mfa: {
    limit: 5,
    windowMs: 15 * MINUTE,
    baseLockMs: 15 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
    absoluteCap: 100,
  },
  // Wrong passwords for one account from one address: enough for typos, too few for guessing.
  password: { limit: 10, windowMs: 15 * MINUTE, baseLockMs: 15 * MINUTE, maxLockMs: 24 * 60 * MINUTE },
  // Wrong passwords from one address across all accounts: room for an office behind one NAT.
  address: { limit: 100, windowMs: 15 * MINUTE, baseLockMs: 15 * MINUTE, maxLockMs: 24 * 60 * MINUTE },
  // Admin MFA resets: 20 per tenant per hour, and 3 per user per day (a user who needs more needs a
  // conversation, not a button; the operator's break-glass reset is not counted).
  resetsPerTenant: { limit: 20, windowMs: 60 * MINUTE, baseLockMs: 60 * MINUTE, maxLockMs: 24 * 60 * MINUTE },
  resetsPerUser: {
    limit: 3,
    windowMs: 24 * 60 * MINUTE,
    baseLockMs: 24 * 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // Emails sent per tenant per day; the limit is EMAIL_DAILY_LIMIT's (src/env.ts), this is the default.
  mailPerTenant: {
    limit: 2000,
    windowMs: 24 * 60 * MINUTE,
    baseLockMs: 24 * 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // Emails to one address per day, whichever tenant or account names it: unverified addresses must
  // not turn the service into a way to mail someone without end.
  mailPerRecipient: {
    limit: 20,
    windowMs: 24 * 60 * MINUTE,
    baseLockMs: 24 * 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // Password reset links per account, asked for or sent: 3 an hour is room for an email that went
  // astray, and too few to fill an inbox.
  resetLinksPerAccount: {
    limit: 3,
    windowMs: 60 * MINUTE,
    baseLockMs: 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // "Forgot your password?" from one address across all accounts.
  resetLinksPerAddress: {
    limit: 30,
    windowMs: 60 * MINUTE,
    baseLockMs: 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // Passkey sign-in challenges from one address: each is a row until it is answered or purged, so
  // a stranger must not be able to write them without end; but an office behind one NAT signs in
  // through one address, so the budget is an office's morning, not one person's (security.md 24).
  passkeyChallengesPerAddress: {
    limit: 300,
    windowMs: 15 * MINUTE,
    baseLockMs: 15 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
  // "Send reminder emails" clicks per tenant: three a day, then nothing until the day is over.
  reminders: {
    limit: 3,
    windowMs: 24 * 60 * MINUTE,
    baseLockMs: 24 * 60 * MINUTE,
    maxLockMs: 24 * 60 * MINUTE,
  },
} as const satisfies Record<string, Policy>;

export type PolicyName = keyof typeof POLICIES;

/**
 * How an attempt went, decided by the caller before it asks the counter:
 * "failure" counts against the bucket (for budgets of actions, every use does), "success" clears
 * it, "checked" only asks whether it is locked.
 */
export type Outcome = "failure" | "success" | "checked";

export interface AttemptEntry {
  bucket: string;
  policy: PolicyName;
  outcome: Outcome;
  /** In place of the policy's limit, where configuration sets it (EMAIL_DAILY_LIMIT). */
  limit?: number;
}

export type Verdict = { allowed: true; lockedNow: boolean } | { allowed: false; retryAfterSeconds: number };
