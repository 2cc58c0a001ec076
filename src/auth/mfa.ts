// Self-service MFA: setup, verify, disable, regenerate backup codes, status.
// Every change proves a fresh second factor first (ASVS 5 7.5.1), counts against the account's MFA
// attempt budget, and lands in one batch guarded by its claim, so nothing is ever half-written.
import { and, count, eq, isNull, type SQL, sql } from "drizzle-orm";
import { now } from "../clock";
import type { RequestContext } from "../context";
import { anchorExists, claimSucceeded, insertWhen, runClaim, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { backupCodes, passkeys, type User, users } from "../db/schema";
import { encodeBase32 } from "../encoding";
import type { Config } from "../env";
import { ApiError } from "../errors";
import { enforceMfaAttempt } from "../limiter/limits";
import { type SecurityEvent, securityEmail } from "../reminders/jobs";
import { type AuditAction, insertAuditWhen, ownAuditRow } from "./audit";
import { generateBackupCodes, hashBackupCode } from "./backup-codes";
import { renderQrPngDataUri } from "./qr";
import {
  claimSecondFactor,
  evaluatePasskey,
  evaluateSecondFactor,
  isBackupCodeShape,
  type SecondFactor,
  type SecondFactorInput,
  selectUnusedBackupHashes,
  type ValidFactor,
} from "./second-factor";
import { openSecret, sealSecret } from "./secret-box";
import {
  type Authenticated,
  assertFreshSignIn,
  insertSessionWhen,
  prepareSession,
  revokeUserSessions,
} from "./sessions";
import { buildOtpauthUri, findTotpStep, generateTotpSecret } from "./totp";

export interface MfaContext extends RequestContext {
  auth: Authenticated;
}

export interface SetupResult {
  secret: string;
  otpauthUri: string;
  qrCode: string;
  backupCodes: string[];
}

/**
 * Starts enrollment: a new secret and backup codes, pending until verify. With MFA already on this
 * is a move to a new device and needs a current code; the old secret keeps working until then.
 */
export async function startSetup(ctx: MfaContext, proofInput: SecondFactorInput): Promise<SetupResult> {
  const { db, config, auth } = ctx;
  const user = auth.user;
  // Turning MFA on, or moving it to another device, with a session alone must not be possible for
  // whoever stole it: the password must have been proved within minutes.
  assertFreshSignIn(auth.session);
  const proof = user.mfaEnabledAt !== null ? await proveSecondFactor(ctx, proofInput) : null;

  const secret = generateTotpSecret();
  const sealed = await sealSecret(secret, config.totpKeys, user.id);
  const codes = generateBackupCodes();
  const hashes = await hashAll(config, user.id, codes);

  // The pending ciphertext is unique (random IV), so its presence marks that this setup was written.
  const written = sql`exists (select 1 from users where id = ${user.id} and totp_pending_secret = ${sealed})`;
  const setPending = db
    .update(users)
    .set({ totpPendingSecret: sealed })
    .where(and(eq(users.id, user.id), proof ? claimSucceeded : undefined));
  const rest: Statement[] = [
    db
      .delete(backupCodes)
      .where(and(eq(backupCodes.userId, user.id), eq(backupCodes.status, "pending"), written)),
    insertBackupCodesWhen(db, user.id, hashes, "pending", written),
    ...(proof ? backupUseAudit(ctx, proof, written) : []),
  ];
  if (proof) {
    if (!(await runClaim(db, proof.claim, [setPending, ...rest]))) throw new ApiError("invalid_mfa_code");
    notifyBackupUse(ctx, proof);
  } else {
    await db.batch([setPending, ...rest]);
  }

  const issuer = `${config.productName} (${auth.tenant.name})`;
  const otpauthUri = buildOtpauthUri({ issuer, accountName: user.username, secret });
  return {
    secret: encodeBase32(secret),
    otpauthUri,
    qrCode: await renderQrPngDataUri(otpauthUri),
    backupCodes: codes,
  };
}

export interface VerifyResult {
  /** A full session, when verify was called with an enrollment token. */
  session?: { token: string; expiresAt: number; user: User };
  /** The backup codes now in force, when verify was asked to issue them (see below). */
  backupCodes?: string[];
}

/**
 * Checks a code against the pending secret and makes it the active one, with its backup codes.
 * Other sessions end: they were opened with less than the factor now in force.
 *
 * `issueBackupCodes` replaces the codes made at setup with new ones returned here, in the same
 * batch. The browser UI shows backup codes only once MFA is on; this way it never has to keep the
 * setup's codes in the page or send them back.
 */
export async function verifySetup(
  ctx: MfaContext,
  code: string,
  options: { issueBackupCodes?: boolean } = {},
): Promise<VerifyResult> {
  const { db, config, auth } = ctx;
  const user = auth.user;
  const pending = user.totpPendingSecret;
  if (!pending) throw new ApiError("no_pending_setup");

  const secret = await openSecret(pending, config.totpKeys, user.id);
  // A secret never used before: any step in the window will do (-1), once.
  const step = await findTotpStep(secret, code, now(), -1);
  await enforceMfaAttempt(ctx, user, step !== null);
  if (step === null) throw new ApiError("invalid_mfa_code");

  // A user with passkeys alone adds TOTP; one with TOTP moves it to a new device.
  const action: AuditAction =
    user.mfaEnabledAt === null
      ? "mfa.enabled"
      : user.totpSecret === null
        ? "mfa.totp_added"
        : "mfa.device_changed";
  const audit = ownAuditRow(user, action, ctx.ip);
  const won = anchorExists("audit_events", audit.id);
  const enrolling = auth.session.kind === "enrollment";
  const session = enrolling
    ? await prepareSession("session", user, ctx, config.sessionSigningKey, auth.session.authenticatedAt)
    : null;
  const issued = options.issueBackupCodes ? generateBackupCodes() : null;
  const issuedHashes = issued ? await hashAll(config, user.id, issued) : null;

  // The claim: the pending secret this request checked is still the pending one.
  const activate = db
    .update(users)
    .set({ totpSecret: pending, totpPendingSecret: null, totpLastStep: step, mfaEnabledAt: now() })
    .where(and(eq(users.id, user.id), eq(users.totpPendingSecret, pending)));
  const guarded: Statement[] = [
    insertAuditWhen(db, audit, claimSucceeded),
    ...(issuedHashes
      ? [
          db.delete(backupCodes).where(and(eq(backupCodes.userId, user.id), won)),
          insertBackupCodesWhen(db, user.id, issuedHashes, "active", won),
        ]
      : [
          db
            .delete(backupCodes)
            .where(and(eq(backupCodes.userId, user.id), eq(backupCodes.status, "active"), won)),
          db
            .update(backupCodes)
            .set({ status: "active" })
            .where(and(eq(backupCodes.userId, user.id), eq(backupCodes.status, "pending"), won)),
        ]),
    revokeUserSessions(db, user.id, enrolling ? undefined : auth.session.id, won),
    ...(session ? [insertSessionWhen(db, session, won)] : []),
  ];
  if (!(await runClaim(db, activate, guarded))) throw new ApiError("invalid_mfa_code");
  notifyUser(ctx, action === "mfa.enabled" ? "mfa_enabled" : "device_changed");
  const result: VerifyResult = issued ? { backupCodes: issued } : {};
  if (!session) return result;
  const enabled = { ...user, totpSecret: pending, totpPendingSecret: null, mfaEnabledAt: now() };
  return { ...result, session: { token: session.token, expiresAt: session.expiresAt, user: enabled } };
}

/**
 * Turns MFA off, every factor (TOTP and passkeys) with it, after a current second factor; refused
 * while the tenant requires MFA. Other sessions end.
 */
export async function disableMfa(ctx: MfaContext, input: SecondFactorInput): Promise<void> {
  const { db, auth } = ctx;
  const user = auth.user;
  if (auth.tenant.mfaRequired) throw new ApiError("mfa_enforced");
  if (user.mfaEnabledAt === null) throw new ApiError("mfa_not_enabled");
  const proof = await proveSecondFactor(ctx, input);

  const audit = ownAuditRow(user, "mfa.disabled", ctx.ip);
  const won = anchorExists("audit_events", audit.id);
  const guarded: Statement[] = [
    insertAuditWhen(db, audit, claimSucceeded),
    db
      .update(users)
      .set({ mfaEnabledAt: null, totpSecret: null, totpPendingSecret: null })
      .where(and(eq(users.id, user.id), won)),
    db.delete(backupCodes).where(and(eq(backupCodes.userId, user.id), won)),
    db.delete(passkeys).where(and(eq(passkeys.userId, user.id), won)),
    revokeUserSessions(db, user.id, auth.session.id, won),
    ...backupUseAudit(ctx, proof, won),
  ];
  if (!(await runClaim(db, proof.claim, guarded))) throw new ApiError("invalid_mfa_code");
  notifyUser(ctx, "mfa_disabled");
  notifyBackupUse(ctx, proof);
}

/** Replaces every backup code after a current code; the old ones stop working at once. */
export async function regenerateBackupCodes(ctx: MfaContext, input: SecondFactorInput): Promise<string[]> {
  const { db, config, auth } = ctx;
  const user = auth.user;
  if (user.mfaEnabledAt === null) throw new ApiError("mfa_not_enabled");
  const proof = await proveSecondFactor(ctx, input);
  const codes = generateBackupCodes();
  const hashes = await hashAll(config, user.id, codes);

  const audit = ownAuditRow(user, "mfa.backup_codes_regenerated", ctx.ip);
  const won = anchorExists("audit_events", audit.id);
  const guarded: Statement[] = [
    insertAuditWhen(db, audit, claimSucceeded),
    ...backupUseAudit(ctx, proof, won),
    db.delete(backupCodes).where(and(eq(backupCodes.userId, user.id), eq(backupCodes.status, "active"), won)),
    insertBackupCodesWhen(db, user.id, hashes, "active", won),
  ];
  if (!(await runClaim(db, proof.claim, guarded))) throw new ApiError("invalid_mfa_code");
  notifyBackupUse(ctx, proof);
  return codes;
}

export async function countUnusedBackupCodes(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(backupCodes)
    .where(and(eq(backupCodes.userId, userId), eq(backupCodes.status, "active"), isNull(backupCodes.usedAt)));
  return row?.n ?? 0;
}

export interface Proof {
  factor: ValidFactor;
  claim: Statement;
}

/**
 * Evaluates a current second factor (a TOTP or backup code, or a passkey assertion) against the
 * attempt budget; throws unless it is good.
 */
export async function proveSecondFactor(ctx: MfaContext, input: SecondFactorInput): Promise<Proof> {
  const user = ctx.auth.user;
  const factor = await evaluateOwnFactor(ctx, input);
  await enforceMfaAttempt(ctx, user, factor.kind !== "invalid");
  if (factor.kind === "invalid") throw new ApiError("invalid_mfa_code");
  return { factor, claim: claimSecondFactor(ctx.db, user, factor) };
}

/**
 * The signed-in user's second factor: a code read against their secret or their unused backup
 * codes, or an assertion against a challenge issued to this session (confirmOptions).
 */
export async function evaluateOwnFactor(ctx: MfaContext, input: SecondFactorInput): Promise<SecondFactor> {
  const { code, passkey } = input;
  const user = ctx.auth.user;
  if (passkey) {
    return evaluatePasskey(ctx.db, ctx.config, user, passkey, {
      purpose: "confirm",
      sessionId: ctx.auth.session.id,
    });
  }
  if (code === undefined) return { kind: "invalid" };
  const hashes = isBackupCodeShape(code)
    ? (await selectUnusedBackupHashes(ctx.db, user.id)).map((row) => row.codeHash)
    : [];
  return evaluateSecondFactor(user, code, hashes, ctx.config);
}

/** The audit event of a backup code spent on one of the user's own actions, when `condition` holds. */
export function backupUseAudit(ctx: MfaContext, proof: Pick<Proof, "factor">, condition: SQL): Statement[] {
  if (proof.factor.kind !== "backup") return [];
  const row = ownAuditRow(ctx.auth.user, "mfa.backup_code_used", ctx.ip, {
    remaining: proof.factor.remaining,
  });
  return [insertAuditWhen(ctx.db, row, condition)];
}

export function notifyUser(ctx: MfaContext, event: SecurityEvent, remaining?: number): void {
  const { user, tenant } = ctx.auth;
  ctx.notify(securityEmail(user, tenant.name, event, remaining));
}

export function notifyBackupUse(ctx: MfaContext, proof: Pick<Proof, "factor">): void {
  if (proof.factor.kind === "backup") notifyUser(ctx, "backup_code_used", proof.factor.remaining);
}

export function hashAll(config: Config, userId: string, codes: string[]): Promise<string[]> {
  return Promise.all(codes.map((code) => hashBackupCode(config.backupCodePepper, userId, code)));
}

export function insertBackupCodesWhen(
  db: Db,
  userId: string,
  hashes: string[],
  status: "pending" | "active",
  condition: SQL,
) {
  const rows = hashes.map((codeHash) => ({ userId, codeHash, status }));
  return insertWhen(db, backupCodes, rows, condition);
}
