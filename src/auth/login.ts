// Sign-in: one read, one password hash, the attempt counters, and one write batch. With MFA on it
// takes two requests: the password answers mfa_required and an mfa token (a pending sign-in of
// five minutes, src/auth/tokens.ts), and the second request sends the code with that token in
// place of the password, so a full MFA sign-in costs one password hash. The documented second
// request, which sends the password again with the code, works as it always has.
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { now } from "../clock";
import type { RequestContext } from "../context";
import {
  anchorExists,
  claimSucceeded,
  insertedValue,
  insertWhen,
  runClaim,
  type Statement,
} from "../db/claims";
import type { Db } from "../db/client";
import { passkeys, sessions, type Tenant, tenants, type User, users } from "../db/schema";
import { ApiError } from "../errors";
import { enforceSignInAttempt, enforceUnknownCredential } from "../limiter/limits";
import type { Outcome } from "../limiter/policy";
import { securityEmail } from "../reminders/jobs";
import { insertAuditWhen, ownAuditRow } from "./audit";
import { type Enforcement, enforcementFor } from "./enforcement";
import { spendChallenge } from "./passkey-challenges";
import { checkPassword } from "./password";
import {
  checkAssertion,
  claimSecondFactor,
  evaluatePasskey,
  evaluateSecondFactor,
  expectedCeremony,
  isBackupCodeShape,
  type PasskeyAssertion,
  type SecondFactor,
} from "./second-factor";
import { insertSessionWhen, newSessionRow, type SessionRow, signSession } from "./sessions";
import { verifyToken } from "./tokens";
import { normalizeUsername } from "./usernames";
import type { AssertionCredential } from "./webauthn";

/** The first factor: the password, or the mfa token the password earned in the first step. */
export type FirstFactor = { password: string } | { mfaToken: string };

export type LoginInput = FirstFactor & {
  tenantId: string;
  username: string;
  mfaCode?: string | undefined;
  /** A passkey's answer to the second-step challenge, in place of a code. */
  mfaPasskey?: PasskeyAssertion | undefined;
};

/** The second factors a user has, as the mfa_required answer names them. */
export type FactorName = "totp" | "passkey";

export type LoginContext = RequestContext;

export type LoginResult =
  | { kind: "session"; token: string; expiresAt: number; user: User; enforcement: Enforcement }
  | { kind: "mfa_required"; user: User; mfaToken: string; expiresAt: number; factors: FactorName[] }
  | { kind: "enrollment_required"; enrollmentToken: string; user: User };

export async function signIn(ctx: LoginContext, input: LoginInput): Promise<LoginResult> {
  const usernameKey = normalizeUsername(input.username);
  // A pending sign-in named by its token: checked before anything is read, and never a guess.
  const pending =
    "mfaToken" in input ? await verifyToken("mfa", input.mfaToken, ctx.config.sessionSigningKey) : null;
  if ("mfaToken" in input && !pending) throw new ApiError("invalid_mfa_token");
  const account = await findAccount(ctx.db, {
    tenantId: input.tenantId,
    usernameKey,
    withBackupHashes: isBackupCodeShape(input.mfaCode),
    pendingId: pending?.sessionId,
  });

  let password: Outcome;
  if (pending) {
    // The token stands for a password that was right minutes ago, for this very user and tenant.
    const ownsToken =
      account?.pending && account.user.id === pending.userId && account.tenant.id === pending.tenantId;
    if (!ownsToken) throw new ApiError("invalid_mfa_token");
    password = "checked";
  } else {
    const typed = "password" in input ? input.password : "";
    password = (await checkPassword(typed, account?.user.passwordHash, ctx.config.passwordPepper))
      ? "success"
      : "failure";
  }
  const user = password !== "failure" ? account?.user : undefined;

  const mfaEnabled = user !== undefined && user.mfaEnabledAt !== null;
  let factor: SecondFactor | undefined;
  if (user && mfaEnabled && input.mfaPasskey) {
    // With a token the challenge must be this pending sign-in's; with the password, the user's.
    const binding = { purpose: "second-step" as const, ...(pending ? { sessionId: pending.sessionId } : {}) };
    factor = await evaluatePasskey(ctx.db, ctx.config, user, input.mfaPasskey, binding);
  } else if (user && mfaEnabled && input.mfaCode !== undefined) {
    factor = await evaluateSecondFactor(user, input.mfaCode, account?.unusedBackupHashes ?? [], ctx.config);
  }
  const mfa: Outcome = factor === undefined ? "checked" : factor.kind === "invalid" ? "failure" : "success";

  // Outcome first, then the counters decide: while locked, a right answer is refused like a wrong one.
  await enforceSignInAttempt(ctx, {
    tenantId: input.tenantId,
    usernameKey,
    user,
    password,
    mfa,
    completed: user !== undefined && (!mfaEnabled || mfa === "success"),
  });
  if (!user || !account) throw new ApiError("invalid_credentials");
  if (!factor) return openSignIn(ctx, user, account.tenant, account.hasPasskey);
  if (factor.kind === "invalid") throw new ApiError("invalid_mfa_code");

  // The session exists only if this request's claim on the code wins, and, with a token, only
  // while the pending sign-in is still live: the claim checks both, and the pending row becomes
  // the session row in the statement after it, so the token is spent by the same batch.
  // A password change, reset or deactivation that commits after this request read the account
  // ends every session, the pending sign-in included; the claim must then fail too, or it writes a
  // session nothing ends. With a token the pending row says so; with the password, the account row.
  const stillAsRead = pending ? pendingIsLive(pending.sessionId) : accountUnchanged(user);
  const session = await signSession(newSessionRow("session", user, ctx), ctx.config.sessionSigningKey);
  const won = anchorExists("sessions", session.row.id);
  const guarded: Statement[] = [
    pending
      ? becomeSession(ctx.db, pending.sessionId, session.row, claimSucceeded)
      : insertSessionWhen(ctx.db, session, claimSucceeded),
  ];
  if (factor.kind === "backup") {
    const audit = ownAuditRow(user, "mfa.backup_code_used", ctx.ip, { remaining: factor.remaining });
    guarded.push(insertAuditWhen(ctx.db, audit, won));
  }
  if (!(await runClaim(ctx.db, claimSecondFactor(ctx.db, user, factor, stillAsRead), guarded))) {
    throw new ApiError("invalid_mfa_code");
  }
  if (factor.kind === "backup") {
    ctx.notify(securityEmail(user, account.tenant.name, "backup_code_used", factor.remaining));
  }
  return {
    kind: "session",
    token: session.token,
    expiresAt: session.expiresAt,
    user,
    enforcement: { kind: "none" },
  };
}

export interface PasskeyLoginInput {
  tenantId: string;
  challengeId: string;
  credential: AssertionCredential;
}

/**
 * Sign-in with a passkey alone: a discoverable credential of the tenant's, answering a challenge
 * issued for the tenant's sign-in page. A passkey with user verification is possession and a PIN
 * or biometric, so it is MFA by itself: the answer is a session, never a request for a code.
 * Failures count like wrong codes against the account (or, for a credential nobody holds, against
 * the address), and the lock answers alike.
 */
export async function signInWithPasskey(ctx: LoginContext, input: PasskeyLoginInput): Promise<LoginResult> {
  const { db, config } = ctx;
  const challenge = await spendChallenge(db, input.challengeId, {
    purpose: "sign-in",
    tenantId: input.tenantId,
    userId: null,
    sessionId: null,
  });
  const found = challenge ? await findPasskeyAccount(db, input.tenantId, input.credential.id) : undefined;
  if (!challenge || !found) {
    await enforceUnknownCredential(ctx);
    throw new ApiError("invalid_passkey");
  }
  const { user, tenant, passkey } = found;
  // The user handle says whose passkey the authenticator thinks it is: a discoverable one has it.
  const verified = input.credential.response.userHandle
    ? await checkAssertion(input.credential, expectedCeremony(config, challenge), passkey)
    : null;
  await enforceSignInAttempt(ctx, {
    tenantId: user.tenantId,
    usernameKey: user.usernameKey,
    user,
    password: "checked",
    mfa: verified ? "success" : "failure",
    completed: verified !== null,
  });
  if (!verified) throw new ApiError("invalid_passkey");

  const session = await signSession(newSessionRow("session", user, ctx), config.sessionSigningKey);
  const claim = claimSecondFactor(
    db,
    user,
    { kind: "passkey", passkey, ...verified },
    accountUnchanged(user),
  );
  if (!(await runClaim(db, claim, [insertSessionWhen(db, session, claimSucceeded)]))) {
    throw new ApiError("invalid_passkey");
  }
  const enforcement = enforcementFor(tenant, user, now());
  return { kind: "session", token: session.token, expiresAt: session.expiresAt, user, enforcement };
}

/** The passkey of this credential id in the tenant, with its active user and the tenant. */
async function findPasskeyAccount(db: Db, tenantId: string, credentialId: string) {
  const [found] = await db
    .select({ passkey: passkeys, user: users, tenant: tenants })
    .from(passkeys)
    .innerJoin(users, eq(users.id, passkeys.userId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(passkeys.tenantId, tenantId),
        eq(passkeys.credentialId, credentialId),
        isNull(users.deactivatedAt),
      ),
    )
    .limit(1);
  return found;
}

/**
 * The answer to a right password with no code: for a user with MFA, a pending sign-in (its token
 * takes the code); for one without, a session, with the grace countdown while the tenant's grace
 * period runs; once enrollment is due, no session at all, only an enrollment token.
 *
 * Both rows are offered in one statement, each written only while the account is as it requires
 * (the same password; MFA off for the session, on for the pending sign-in): a verify or a disable
 * that commits between the read and this write decides which one is written, so no password-only
 * session outlives MFA being turned on. Only the row written is signed.
 */
async function openSignIn(
  ctx: LoginContext,
  user: User,
  tenant: Tenant,
  hasPasskey: boolean,
): Promise<LoginResult> {
  const enforcement = enforcementFor(tenant, user, now());
  const direct = newSessionRow(enforcement.kind === "blocked" ? "enrollment" : "session", user, ctx);
  const challenge = newSessionRow("mfa", user, ctx);
  // One statement offers both rows; each is written only if the account's MFA (with the password
  // unchanged and the account active) is what it is for: the pending sign-in with MFA on, the
  // session with MFA off.
  const mfaOnNow = sql`(select mfa_enabled_at is not null from users where ${isAccountAsRead(user)})`;
  const isChallenge = sql`(${insertedValue(sessions, "kind")} = 'mfa')`;
  const [written] = await insertWhen(
    ctx.db,
    sessions,
    [direct, challenge],
    sql`${isChallenge} = ${mfaOnNow}`,
  ).returning({ kind: sessions.kind });
  if (!written) throw new ApiError("invalid_credentials"); // the password changed meanwhile
  if (written.kind === "mfa") {
    const pending = await sign(ctx, challenge);
    // MFA is on, whatever this sign-in read (a verify may have committed since).
    const current = { ...user, mfaEnabledAt: user.mfaEnabledAt ?? now() };
    // A verify that committed since the read added TOTP; with no factor read, that is what it was.
    const factors: FactorName[] = [
      ...(user.totpSecret !== null || !hasPasskey ? ["totp" as const] : []),
      ...(hasPasskey ? ["passkey" as const] : []),
    ];
    return {
      kind: "mfa_required",
      user: current,
      mfaToken: pending.token,
      expiresAt: pending.expiresAt,
      factors,
    };
  }
  const session = await sign(ctx, direct);
  if (direct.kind === "enrollment")
    return { kind: "enrollment_required", enrollmentToken: session.token, user };
  return { kind: "session", token: session.token, expiresAt: session.expiresAt, user, enforcement };
}

function sign(ctx: LoginContext, row: SessionRow) {
  return signSession(row, ctx.config.sessionSigningKey);
}

/** The pending sign-in is still unspent and unexpired. */
export function pendingIsLive(pendingId: string): SQL {
  return sql`exists (select 1 from sessions where id = ${pendingId} and kind = 'mfa'
    and revoked_at is null and expires_at > ${now()})`;
}

/**
 * Turns the pending sign-in into the session it led to (when `condition` holds): a new id, kind
 * and lifetime; the moment the password was proved stays that of the first step.
 */
function becomeSession(db: Db, pendingId: string, session: SessionRow, condition: SQL) {
  return db
    .update(sessions)
    .set({
      id: session.id,
      kind: "session",
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      lastUsedAt: session.lastUsedAt,
      ip: session.ip,
      userAgent: session.userAgent,
    })
    .where(and(eq(sessions.id, pendingId), eq(sessions.kind, "mfa"), isNull(sessions.revokedAt), condition));
}

interface Account {
  user: User;
  tenant: Tenant;
  unusedBackupHashes: string[];
  hasPasskey: boolean;
  /** The pending sign-in the request's token names, when it is live and the account's. */
  pending: boolean;
}

/**
 * The user and tenant, in one statement: when the code looks like a backup code, the hashes of
 * the user's unused codes come with them, and so does whether the pending sign-in a token names
 * is live and the user's. One statement instead of a batch of several: each costs CPU on both
 * ends of the binding (npm run profile).
 */
async function findAccount(
  db: Db,
  find: { tenantId: string; usernameKey: string; withBackupHashes: boolean; pendingId?: string | undefined },
): Promise<Account | undefined> {
  const hashes = find.withBackupHashes
    ? sql<string>`(select json_group_array(code_hash) from backup_codes
        where user_id = ${users.id} and status = 'active' and used_at is null)`
    : sql<string>`'[]'`;
  const pending = find.pendingId
    ? sql<number>`exists (select 1 from sessions where id = ${find.pendingId} and user_id = ${users.id}
        and kind = 'mfa' and revoked_at is null and expires_at > ${now()})`
    : sql<number>`0`;
  const hasPasskey = sql<number>`exists (select 1 from passkeys where user_id = ${users.id})`;
  const [found] = await db
    .select({ user: users, tenant: tenants, hashes, pending, hasPasskey })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(users.tenantId, find.tenantId),
        eq(users.usernameKey, find.usernameKey),
        // A deactivated account signs in like one that does not exist.
        isNull(users.deactivatedAt),
      ),
    )
    .limit(1);
  if (!found) return undefined;
  return {
    user: found.user,
    tenant: found.tenant,
    unusedBackupHashes: JSON.parse(found.hashes) as string[],
    pending: Boolean(found.pending),
    hasPasskey: Boolean(found.hasPasskey),
  };
}

/** The account row as this sign-in read it: the same password, still active. */
function isAccountAsRead(user: User): SQL {
  return sql`id = ${user.id} and password_hash = ${user.passwordHash} and deactivated_at is null`;
}

function accountUnchanged(user: User): SQL {
  return sql`exists (select 1 from users where ${isAccountAsRead(user)})`;
}
