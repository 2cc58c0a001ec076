// Sign-in: one read, one password hash, the attempt counters, and one write batch.
import { and, eq, isNull, sql } from "drizzle-orm";
import { now } from "../clock";
import type { RequestContext } from "../context";
import { anchorExists, claimSucceeded, runClaim, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { backupCodes, type Tenant, tenants, type User, users } from "../db/schema";
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
import { insertSessionWhen, prepareSession } from "./sessions";
import { normalizeUsername } from "./usernames";

export interface LoginInput {
  tenantId: string;
  username: string;
  password: string;
  mfaCode?: string | undefined;
}

export type LoginContext = RequestContext;

export type LoginResult =
  | { kind: "session"; token: string; expiresAt: number; user: User; enforcement: Enforcement }
  | { kind: "mfa_required"; user: User }
  | { kind: "enrollment_required"; enrollmentToken: string; user: User };

export async function signIn(ctx: LoginContext, input: LoginInput): Promise<LoginResult> {
  const usernameKey = normalizeUsername(input.username);
  const account = await findAccount(ctx.db, input.tenantId, usernameKey, isBackupCodeShape(input.mfaCode));
  const passwordOk = await checkPassword(
    input.password,
    account?.user.passwordHash,
    ctx.config.passwordPepper,
  );
  const user = passwordOk ? account?.user : undefined;

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
    password: user ? "success" : "failure",
    mfa,
    completed: user !== undefined && (!mfaEnabled || mfa === "success"),
  });
  if (!user || !account) throw new ApiError("invalid_credentials");
  if (!mfaEnabled) return issueSession(ctx, user, account.tenant);
  if (!factor) return { kind: "mfa_required", user };
  if (factor.kind === "invalid") throw new ApiError("invalid_mfa_code");

  // The session exists only if this request's claim on the code wins.
  const session = await prepareSession("session", user, ctx.config.sessionSigningKey);
  const guarded: Statement[] = [insertSessionWhen(ctx.db, session, claimSucceeded)];
  if (factor.kind === "backup") {
    const audit = ownAuditRow(user, "mfa.backup_code_used", ctx.ip, { remaining: factor.remaining });
    guarded.push(insertAuditWhen(ctx.db, audit, anchorExists("sessions", session.row.id)));
  }
  if (!(await runClaim(ctx.db, claimSecondFactor(ctx.db, user, factor), guarded))) {
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
 * A user without MFA: a session, with the grace countdown while the tenant's grace period runs; once
 * enrollment is due, no session at all, only an enrollment token good for setup and verify.
 *
 * The row is written only while the account is still as this sign-in read it (the same password,
 * no MFA), checked in the statement itself: a verify that commits between the read and this write
 * must not be outlived by a password-only session. The account is read back in the same batch, so
 * a sign-in that lost that race answers with what the account requires now.
 */
async function issueSession(ctx: LoginContext, user: User, tenant: Tenant): Promise<LoginResult> {
  const enforcement = enforcementFor(tenant, user, now());
  const kind = enforcement.kind === "blocked" ? "enrollment" : "session";
  const session = await prepareSession(kind, user, ctx.config.sessionSigningKey);
  const unchanged = sql`exists (select 1 from users where id = ${user.id}
    and password_hash = ${user.passwordHash} and mfa_enabled_at is null)`;
  const [inserted, [current]] = await ctx.db.batch([
    insertSessionWhen(ctx.db, session, unchanged),
    ctx.db.select().from(users).where(eq(users.id, user.id)),
  ]);
  if ((inserted.meta.changes ?? 0) === 0) {
    if (current && current.passwordHash === user.passwordHash && current.mfaEnabledAt !== null) {
      return { kind: "mfa_required", user: current };
    }
    throw new ApiError("invalid_credentials");
  }
  if (kind === "enrollment") return { kind: "enrollment_required", enrollmentToken: session.token, user };
  return { kind: "session", token: session.token, expiresAt: session.expiresAt, user, enforcement };
}

interface Account {
  user: User;
  tenant: Tenant;
  unusedBackupHashes: string[];
}

/**
 * The user and tenant in one round trip; when the code looks like a backup code, the hashes of the
 * user's unused codes come in the same batch (found by the same tenant and username). Each query
 * reads one table's columns: drizzle's D1 batch mislabels joined columns that share a name.
 */
async function findAccount(
  db: Db,
  tenantId: string,
  usernameKey: string,
  withBackupHashes: boolean,
): Promise<Account | undefined> {
  const byName = and(eq(users.tenantId, tenantId), eq(users.usernameKey, usernameKey));
  const userQuery = db.select().from(users).where(byName).limit(1);
  const tenantQuery = db.select().from(tenants).where(eq(tenants.id, tenantId)).limit(1);
  const hashesQuery = db
    .select({ codeHash: backupCodes.codeHash })
    .from(backupCodes)
    .innerJoin(users, eq(users.id, backupCodes.userId))
    .where(and(byName, eq(backupCodes.status, "active"), isNull(backupCodes.usedAt)));
  const [[user], [tenant], hashes] = withBackupHashes
    ? await db.batch([userQuery, tenantQuery, hashesQuery])
    : [...(await db.batch([userQuery, tenantQuery])), []];
  if (!user || !tenant) return undefined;
  return { user, tenant, unusedBackupHashes: hashes.map((h) => h.codeHash) };
}
