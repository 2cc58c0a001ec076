// Sign-in: one read, one password hash, the attempt counters, and one write batch. With MFA on it
// takes two requests: the password answers mfa_required and an mfa token (a pending sign-in of
// five minutes, src/auth/tokens.ts), and the second request sends the code with that token in
// place of the password, so a full MFA sign-in costs one password hash. The documented second
// request, which sends the password again with the code, works as it always has.
import { and, eq, gt, isNull, type SQL, sql } from "drizzle-orm";
import { now } from "../clock";
import type { RequestContext } from "../context";
import { anchorExists, claimSucceeded, runClaim, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { backupCodes, sessions, type Tenant, tenants, type User, users } from "../db/schema";
import { ApiError } from "../errors";
import { enforceSignInAttempt } from "../limiter/limits";
import type { Outcome } from "../limiter/policy";
import { securityEmail } from "../reminders/jobs";
import { insertAuditWhen, ownAuditRow } from "./audit";
import { type Enforcement, enforcementFor } from "./enforcement";
import { checkPassword } from "./password";
import {
  claimSecondFactor,
  evaluateSecondFactor,
  isBackupCodeShape,
  type SecondFactor,
} from "./second-factor";
import { insertSessionWhen, newSessionRow, type SessionRow, signSession } from "./sessions";
import { verifyToken } from "./tokens";
import { normalizeUsername } from "./usernames";

/** The first factor: the password, or the mfa token the password earned in the first step. */
export type FirstFactor = { password: string } | { mfaToken: string };

export type LoginInput = FirstFactor & {
  tenantId: string;
  username: string;
  mfaCode?: string | undefined;
};

export type LoginContext = RequestContext;

export type LoginResult =
  | { kind: "session"; token: string; expiresAt: number; user: User; enforcement: Enforcement }
  | { kind: "mfa_required"; user: User; mfaToken: string; expiresAt: number }
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
  if (user && mfaEnabled && input.mfaCode !== undefined) {
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
  if (!factor) return openSignIn(ctx, user, account.tenant);
  if (factor.kind === "invalid") throw new ApiError("invalid_mfa_code");

  // The session exists only if this request's claim on the code wins, and, with a token, only
  // while the pending sign-in is still live: the claim spends both in one statement.
  const stillPending = pending ? pendingIsLive(pending.sessionId) : undefined;
  const session = await signSession(newSessionRow("session", user), ctx.config.sessionSigningKey);
  const won = anchorExists("sessions", session.row.id);
  const guarded: Statement[] = [insertSessionWhen(ctx.db, session, claimSucceeded)];
  if (pending) guarded.push(spendPending(ctx.db, pending.sessionId, won));
  if (factor.kind === "backup") {
    const audit = ownAuditRow(user, "mfa.backup_code_used", ctx.ip, { remaining: factor.remaining });
    guarded.push(insertAuditWhen(ctx.db, audit, won));
  }
  if (!(await runClaim(ctx.db, claimSecondFactor(ctx.db, user, factor, stillPending), guarded))) {
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

/**
 * The answer to a right password with no code: for a user with MFA, a pending sign-in (its token
 * takes the code); for one without, a session, with the grace countdown while the tenant's grace
 * period runs; once enrollment is due, no session at all, only an enrollment token.
 *
 * Both rows are offered in one batch, each written only while the account is as it requires (the
 * same password; MFA off for the session, on for the pending sign-in), checked in the statement
 * itself: a verify or a disable that commits between the read and this write decides which one is
 * written, so no password-only session outlives MFA being turned on. The account is read back in
 * the same batch, and only the row written is signed.
 */
async function openSignIn(ctx: LoginContext, user: User, tenant: Tenant): Promise<LoginResult> {
  const enforcement = enforcementFor(tenant, user, now());
  const direct = newSessionRow(enforcement.kind === "blocked" ? "enrollment" : "session", user);
  const challenge = newSessionRow("mfa", user);
  const samePassword = sql`select 1 from users where id = ${user.id} and password_hash = ${user.passwordHash}`;
  const [asSession, asChallenge, [current]] = await ctx.db.batch([
    insertSessionWhen(ctx.db, { row: direct }, sql`exists (${samePassword} and mfa_enabled_at is null)`),
    insertSessionWhen(
      ctx.db,
      { row: challenge },
      sql`exists (${samePassword} and mfa_enabled_at is not null)`,
    ),
    ctx.db.select().from(users).where(eq(users.id, user.id)),
  ]);
  const written = (result: { meta: { changes?: number } }) => (result.meta.changes ?? 0) > 0;
  if (!current) throw new ApiError("invalid_credentials");
  if (written(asChallenge)) {
    const pending = await sign(ctx, challenge);
    return { kind: "mfa_required", user: current, mfaToken: pending.token, expiresAt: pending.expiresAt };
  }
  if (!written(asSession)) throw new ApiError("invalid_credentials"); // the password changed meanwhile
  const session = await sign(ctx, direct);
  if (direct.kind === "enrollment")
    return { kind: "enrollment_required", enrollmentToken: session.token, user };
  return { kind: "session", token: session.token, expiresAt: session.expiresAt, user, enforcement };
}

function sign(ctx: LoginContext, row: SessionRow) {
  return signSession(row, ctx.config.sessionSigningKey);
}

/** The pending sign-in is still unspent and unexpired. */
function pendingIsLive(pendingId: string): SQL {
  return sql`exists (select 1 from sessions where id = ${pendingId} and kind = 'mfa'
    and revoked_at is null and expires_at > ${now()})`;
}

/** Spends the pending sign-in (once the session it led to is written). */
function spendPending(db: Db, pendingId: string, condition: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now() })
    .where(and(eq(sessions.id, pendingId), isNull(sessions.revokedAt), condition));
}

interface Account {
  user: User;
  tenant: Tenant;
  unusedBackupHashes: string[];
  /** The pending sign-in the request's token names, when it is live and the account's. */
  pending: boolean;
}

/**
 * The user and tenant in one round trip; when the code looks like a backup code, the hashes of the
 * user's unused codes come in the same batch (found by the same tenant and username), and so does
 * the pending sign-in a token names. Each query reads one table's columns: drizzle's D1 batch
 * mislabels joined columns that share a name.
 */
async function findAccount(
  db: Db,
  find: { tenantId: string; usernameKey: string; withBackupHashes: boolean; pendingId?: string | undefined },
): Promise<Account | undefined> {
  const byName = and(eq(users.tenantId, find.tenantId), eq(users.usernameKey, find.usernameKey));
  const userQuery = db.select().from(users).where(byName).limit(1);
  const tenantQuery = db.select().from(tenants).where(eq(tenants.id, find.tenantId)).limit(1);
  // Both are read only when asked for; the statement stays in the batch either way (one round
  // trip, and a constant false costs SQLite nothing), which keeps the batch's shape fixed.
  const asked = (wanted: boolean) => (wanted ? undefined : sql`0`);
  const hashesQuery = db
    .select({ codeHash: backupCodes.codeHash })
    .from(backupCodes)
    .innerJoin(users, eq(users.id, backupCodes.userId))
    .where(
      and(byName, eq(backupCodes.status, "active"), isNull(backupCodes.usedAt), asked(find.withBackupHashes)),
    );
  const pendingQuery = db
    .select({ userId: sessions.userId })
    .from(sessions)
    .where(
      and(
        eq(sessions.id, find.pendingId ?? ""),
        eq(sessions.kind, "mfa"),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now()),
        asked(find.pendingId !== undefined),
      ),
    );
  const [[user], [tenant], hashes, pending] = await db.batch([
    userQuery,
    tenantQuery,
    hashesQuery,
    pendingQuery,
  ]);
  if (!user || !tenant) return undefined;
  return {
    user,
    tenant,
    unusedBackupHashes: hashes.map((h) => h.codeHash),
    pending: pending.some((row) => row.userId === user.id),
  };
}
