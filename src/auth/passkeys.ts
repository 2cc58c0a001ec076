// Passkeys: register, list, rename, remove, and the WebAuthn options each ceremony starts from.
// A passkey is a factor like TOTP: the first factor a user adds turns MFA on (mfa_enabled_at) and
// issues backup codes; removing the last one turns it off, and is refused while the tenant requires
// MFA. Every change is one batch guarded by its claim, audited, and mailed to the user.
import { and, count, eq, isNull, type SQL, sql } from "drizzle-orm";
import { now } from "../clock";
import type { RequestContext } from "../context";
import { anchorExists, changedRows, claimSucceeded, insertWhen, type Statement } from "../db/claims";
import type { Db } from "../db/client";
import { backupCodes, type Passkey, passkeys, type User, users } from "../db/schema";
import { randomId } from "../encoding";
import type { Config } from "../env";
import { ApiError } from "../errors";
import { takeChallengeBudget } from "../limiter/limits";
import { insertAuditWhen, ownAuditRow } from "./audit";
import { generateBackupCodes } from "./backup-codes";
import { pendingIsLive } from "./login";
import {
  backupUseAudit,
  hashAll,
  insertBackupCodesWhen,
  type MfaContext,
  notifyBackupUse,
  notifyUser,
  proveSecondFactor,
} from "./mfa";
import {
  CHALLENGE_LIFETIME_MS,
  type ChallengeRow,
  issueChallenge,
  issueChallengeWhen,
  spendChallengeByValue,
} from "./passkey-challenges";
import { expectedCeremony, type SecondFactorInput } from "./second-factor";
import {
  assertFreshSignIn,
  type IssuedSession,
  insertSessionWhen,
  prepareSession,
  revokeUserSessions,
} from "./sessions";
import { verifyToken } from "./tokens";
import {
  challengeOf,
  PasskeyRejected,
  type RegistrationCredential,
  relyingPartyId,
  SUPPORTED_ALGORITHMS,
  userHandle,
  verifyRegistration,
} from "./webauthn";

/** Enough for every device a person owns; a bound on what one account may store. */
export const MAX_PASSKEYS_PER_USER = 20;
export const PASSKEY_NAME_MAX_LENGTH = 64;

type CredentialDescriptor = { type: "public-key"; id: string; transports?: string[] };

/** What PublicKeyCredential.parseCreationOptionsFromJSON takes. */
export interface CreationOptions {
  challenge: string;
  rp: { id: string; name: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: { type: "public-key"; alg: number }[];
  timeout: number;
  excludeCredentials: CredentialDescriptor[];
  authenticatorSelection: {
    residentKey: "preferred";
    requireResidentKey: false;
    userVerification: "required";
  };
  attestation: "none";
}

/** What PublicKeyCredential.parseRequestOptionsFromJSON takes. */
export interface RequestOptions {
  challenge: string;
  rpId: string;
  timeout: number;
  allowCredentials: CredentialDescriptor[];
  userVerification: "required";
}

/** A challenge and the options to answer it with. */
export interface Ceremony<O> {
  challengeId: string;
  options: O;
}

/** Registration options for the signed-in user; like any new factor, it needs a fresh sign-in. */
export async function registrationOptions(ctx: MfaContext): Promise<Ceremony<CreationOptions>> {
  const { db, config, auth } = ctx;
  assertFreshSignIn(auth.session);
  const owned = await listPasskeys(db, auth.user.id);
  if (owned.length >= MAX_PASSKEYS_PER_USER) throw new ApiError("too_many_passkeys");
  const challenge = await issueChallenge(db, {
    purpose: "register",
    tenantId: auth.user.tenantId,
    userId: auth.user.id,
    sessionId: auth.session.id,
  });
  return {
    challengeId: challenge.id,
    options: {
      challenge: challenge.challenge,
      rp: { id: relyingPartyId(config.publicOrigin), name: config.productName },
      user: { id: userHandle(auth.user.id), name: auth.user.username, displayName: auth.user.username },
      pubKeyCredParams: SUPPORTED_ALGORITHMS.map((alg) => ({ type: "public-key" as const, alg })),
      timeout: CHALLENGE_LIFETIME_MS,
      // The browser refuses to make a second passkey on an authenticator that holds one already.
      excludeCredentials: owned.map(descriptor),
      authenticatorSelection: {
        residentKey: "preferred",
        requireResidentKey: false,
        userVerification: "required",
      },
      attestation: "none",
    },
  };
}

/** Options to confirm an action of the signed-in user's with one of their passkeys. */
export async function confirmOptions(ctx: MfaContext): Promise<Ceremony<RequestOptions>> {
  const { db, config, auth } = ctx;
  const owned = await listPasskeys(db, auth.user.id);
  if (owned.length === 0) throw new ApiError("no_passkeys");
  const challenge = await issueChallenge(db, {
    purpose: "confirm",
    tenantId: auth.user.tenantId,
    userId: auth.user.id,
    sessionId: auth.session.id,
  });
  return { challengeId: challenge.id, options: requestOptions(config, challenge, owned) };
}

/**
 * Options for the second step of a sign-in, for the user whose password the first step proved:
 * the mfa token names the pending sign-in, so nobody learns whose credentials these are without it.
 */
export async function secondStepOptions(
  ctx: RequestContext,
  input: { tenantId: string; mfaToken: string },
): Promise<Ceremony<RequestOptions>> {
  const { db, config } = ctx;
  const pending = await verifyToken("mfa", input.mfaToken, config.sessionSigningKey);
  if (!pending || pending.tenantId !== input.tenantId) throw new ApiError("invalid_mfa_token");
  const owned = await listPasskeys(db, pending.userId);
  if (owned.length === 0) throw new ApiError("no_passkeys");
  // The token is signed, so its session id names this user's pending sign-in; it must be live.
  const live = pendingIsLive(pending.sessionId);
  const challenge = await issueChallengeWhen(
    db,
    {
      purpose: "second-step",
      tenantId: pending.tenantId,
      userId: pending.userId,
      sessionId: pending.sessionId,
    },
    live,
  );
  if (!challenge) throw new ApiError("invalid_mfa_token");
  return { challengeId: challenge.id, options: requestOptions(config, challenge, owned) };
}

/** Options for signing in with a passkey alone: a discoverable credential, any of the tenant's. */
export async function signInOptions(
  ctx: RequestContext,
  tenantId: string,
): Promise<Ceremony<RequestOptions>> {
  await takeChallengeBudget(ctx);
  const tenantExists = sql`exists (select 1 from tenants where id = ${tenantId})`;
  const challenge = await issueChallengeWhen(
    ctx.db,
    { purpose: "sign-in", tenantId, userId: null, sessionId: null },
    tenantExists,
  );
  // An unknown tenant gets options all the same, whose challenge nothing can answer: the answer
  // must not say which tenants exist.
  const issued = challenge ?? { id: randomId(), challenge: randomId() };
  return { challengeId: issued.id, options: requestOptions(ctx.config, issued, []) };
}

function requestOptions(
  config: Config,
  challenge: Pick<ChallengeRow, "challenge">,
  allowed: Passkey[],
): RequestOptions {
  return {
    challenge: challenge.challenge,
    rpId: relyingPartyId(config.publicOrigin),
    timeout: CHALLENGE_LIFETIME_MS,
    allowCredentials: allowed.map(descriptor),
    userVerification: "required",
  };
}

function descriptor(passkey: Passkey): CredentialDescriptor {
  return {
    type: "public-key",
    id: passkey.credentialId,
    ...(passkey.transports?.length ? { transports: passkey.transports } : {}),
  };
}

export interface AddedPasskey {
  passkey: Passkey;
  /** The backup codes, when this passkey was the user's first factor. */
  backupCodes?: string[];
  /** A full session, when it was added with an enrollment token. */
  session?: IssuedSession & { user: User };
}

/**
 * Checks a registration against the challenge this session was given and stores the passkey. As the
 * first factor it turns MFA on: backup codes, the user's other sessions end (they were opened with
 * less than the factor now in force), and an enrollment token becomes a session. Beside a factor
 * already in force it also needs a current one, as a move to a new device does: a passkey signs in
 * on its own, so a stolen session must not be able to add one.
 */
export async function addPasskey(
  ctx: MfaContext,
  input: { name: string; credential: RegistrationCredential; proof?: SecondFactorInput },
): Promise<AddedPasskey> {
  const { db, config, auth } = ctx;
  const user = auth.user;
  assertFreshSignIn(auth.session);
  const first = user.mfaEnabledAt === null;
  const proof = first ? null : await proveSecondFactor(ctx, input.proof ?? {});
  const signed = await refusedAsInvalid(() => challengeOf(input.credential.response.clientDataJSON));
  const challenge = await spendChallengeByValue(db, signed, {
    purpose: "register",
    tenantId: user.tenantId,
    userId: user.id,
    sessionId: auth.session.id,
  });
  if (!challenge) throw new ApiError("invalid_passkey");
  const verified = await refusedAsInvalid(() =>
    verifyRegistration(input.credential, expectedCeremony(config, challenge)),
  );
  const at = now();
  const row: Passkey = {
    id: randomId(),
    userId: user.id,
    tenantId: user.tenantId,
    ...verified,
    name: input.name,
    createdAt: at,
    lastUsedAt: null,
  };
  // A credential id is someone's already (here or another account of the tenant): refused, whoever
  // holds it (WebAuthn §7.1 step 22), before the batch, so the answer can say so.
  if (await credentialTaken(db, user.tenantId, row.credentialId)) throw new ApiError("passkey_exists");
  const roomLeft = sql`(select count(*) from passkeys where user_id = ${user.id}) < ${MAX_PASSKEYS_PER_USER}`;
  const action = first ? "mfa.enabled" : "mfa.passkey_added";
  const audit = ownAuditRow(user, action, ctx.ip, { factor: "passkey", passkey_id: row.id, name: row.name });
  const won = anchorExists("audit_events", audit.id);

  if (proof) {
    // After the claim on the second factor, the passkey is written while MFA is still on and there
    // is room for it; the audit event follows it.
    const mfaOn = sql`exists (select 1 from users where id = ${user.id} and mfa_enabled_at is not null)`;
    const [claimed, inserted] = await batchOrTaken(db, [
      proof.claim,
      insertWhen(db, passkeys, [row], sql`${claimSucceeded} and ${mfaOn} and ${roomLeft}`),
      insertAuditWhen(db, audit, claimSucceeded),
      ...backupUseAudit(ctx, proof, won),
    ]);
    if (changedRows(claimed) === 0) throw new ApiError("invalid_mfa_code");
    if (changedRows(inserted) === 0) {
      throw new ApiError(
        (await countPasskeys(db, user.id)) >= MAX_PASSKEYS_PER_USER ? "too_many_passkeys" : "user_conflict",
      );
    }
    notifyBackupUse(ctx, proof);
    notifyUser(ctx, "passkey_added");
    return { passkey: row };
  }

  const enrolling = auth.session.kind === "enrollment";
  const session = enrolling
    ? await prepareSession("session", user, ctx, config.sessionSigningKey, auth.session.authenticatedAt)
    : null;
  const codes = generateBackupCodes();
  const hashes = await hashAll(config, user.id, codes);
  // The claim: MFA goes from off to on in this request and no other.
  const claim = db
    .update(users)
    .set({ mfaEnabledAt: at })
    .where(and(eq(users.id, user.id), isNull(users.mfaEnabledAt), isNull(users.deactivatedAt)));
  const guarded: Statement[] = [
    insertAuditWhen(db, audit, claimSucceeded),
    insertWhen(db, passkeys, [row], won),
    // Codes of a TOTP setup still pending stay for its verify; any older active ones go.
    db.delete(backupCodes).where(and(eq(backupCodes.userId, user.id), eq(backupCodes.status, "active"), won)),
    insertBackupCodesWhen(db, user.id, hashes, "active", won),
    revokeUserSessions(db, user.id, enrolling ? undefined : auth.session.id, won),
    ...(session ? [insertSessionWhen(db, session, won)] : []),
  ];
  const [claimed] = await batchOrTaken(db, [claim, ...guarded]);
  if (changedRows(claimed) === 0) throw new ApiError("user_conflict");
  notifyUser(ctx, "mfa_enabled");
  const enabled = { ...user, mfaEnabledAt: at };
  return { passkey: row, backupCodes: codes, ...(session ? { session: { ...session, user: enabled } } : {}) };
}

/** The user's passkeys, oldest first. */
export function listPasskeys(db: Db, userId: string): Promise<Passkey[]> {
  return db
    .select()
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(passkeys.createdAt, passkeys.id);
}

/** Renames one of the signed-in user's passkeys. */
export async function renamePasskey(ctx: MfaContext, passkeyId: string, name: string): Promise<Passkey> {
  const { db, auth } = ctx;
  const audit = ownAuditRow(auth.user, "mfa.passkey_renamed", ctx.ip, { passkey_id: passkeyId, name });
  const [renamed] = await db.batch([
    db
      .update(passkeys)
      .set({ name })
      .where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, auth.user.id)))
      .returning(),
    insertAuditWhen(db, audit, claimSucceeded),
  ]);
  const passkey = renamed[0];
  if (!passkey) throw new ApiError("not_found");
  return passkey;
}

/**
 * Removes one of the signed-in user's passkeys after a current second factor. The last factor
 * takes MFA with it (backup codes, other sessions), and is refused while the tenant requires MFA.
 */
/** Returns whether MFA is still on. */
export async function removePasskey(
  ctx: MfaContext,
  passkeyId: string,
  input: SecondFactorInput,
): Promise<boolean> {
  const { db, auth } = ctx;
  const user = auth.user;
  const [target] = await db
    .select()
    .from(passkeys)
    .where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, user.id)))
    .limit(1);
  if (!target) throw new ApiError("not_found");
  const last = user.totpSecret === null && (await countPasskeys(db, user.id)) === 1;
  if (last && auth.tenant.mfaRequired) throw new ApiError("mfa_enforced");
  const proof = await proveSecondFactor(ctx, input);

  // Decided again inside the batch: two removals racing must not both see the other's passkey
  // remain, nor may one slip past enforcement turned on since the read.
  const otherFactor = sql`(exists (select 1 from passkeys where user_id = ${user.id} and id <> ${passkeyId})
    or exists (select 1 from users where id = ${user.id} and totp_secret is not null))`;
  const notRequired = sql`not exists (select 1 from tenants where id = ${user.tenantId} and mfa_required)`;
  // Whether MFA ends with it is decided in the batch too (a racing removal or a TOTP verify may
  // commit first): the passkey's removal is one event, MFA turned off another, written only then.
  const details = { passkey_id: target.id, name: target.name };
  const audit = ownAuditRow(user, "mfa.passkey_removed", ctx.ip, details);
  const won = anchorExists("audit_events", audit.id);
  const off = ownAuditRow(user, "mfa.disabled", ctx.ip, details);
  const noFactorLeft = sql`not exists (select 1 from passkeys where user_id = ${user.id})
    and not exists (select 1 from users where id = ${user.id} and totp_secret is not null)`;
  const statements: Statement[] = [
    proof.claim,
    db
      .delete(passkeys)
      .where(
        and(
          eq(passkeys.id, passkeyId),
          eq(passkeys.userId, user.id),
          sql`${claimSucceeded}`,
          sql`(${otherFactor} or ${notRequired})`,
        ),
      ),
    insertAuditWhen(db, audit, claimSucceeded),
    insertAuditWhen(db, off, sql`${won} and ${noFactorLeft}`),
    ...backupUseAudit(ctx, proof, won),
    // With no factor left, MFA is off, as /mfa/disable would leave it.
    ...turnOffWhen(db, user, auth.session.id, anchorExists("audit_events", off.id)),
  ];
  const [claimed, removed, , turnedOff] = await db.batch(statements as [Statement, ...Statement[]]);
  if (changedRows(claimed) === 0) throw new ApiError("invalid_mfa_code");
  if (changedRows(removed) === 0) {
    // The code was good: what refused an existing passkey is the last-factor rule under enforcement
    // (a racing removal took the other factor); a passkey gone meanwhile is simply not found.
    const still = await db
      .select({ id: passkeys.id })
      .from(passkeys)
      .where(eq(passkeys.id, passkeyId))
      .limit(1);
    throw new ApiError(still.length > 0 ? "mfa_enforced" : "not_found");
  }
  const mfaOff = changedRows(turnedOff) > 0;
  notifyBackupUse(ctx, proof);
  notifyUser(ctx, mfaOff ? "mfa_disabled" : "passkey_removed");
  return !mfaOff;
}

function turnOffWhen(db: Db, user: User, keepSessionId: string, condition: SQL): Statement[] {
  return [
    db
      .update(users)
      .set({ mfaEnabledAt: null, totpPendingSecret: null })
      .where(and(eq(users.id, user.id), condition)),
    db.delete(backupCodes).where(and(eq(backupCodes.userId, user.id), condition)),
    revokeUserSessions(db, user.id, keepSessionId, condition),
  ];
}

async function countPasskeys(db: Db, userId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId));
  return row?.n ?? 0;
}

/**
 * Runs a batch that writes a passkey; a credential id registered by a request that raced this one
 * (the unique index refuses it, and the batch is rolled back) is passkey_exists, not an outage.
 */
async function batchOrTaken(db: Db, statements: Statement[]) {
  try {
    return await db.batch(statements as [Statement, ...Statement[]]);
  } catch (error) {
    if (
      /UNIQUE constraint failed: passkeys/.test(
        `${(error as Error)?.message} ${String((error as Error)?.cause ?? "")}`,
      )
    ) {
      throw new ApiError("passkey_exists");
    }
    throw error;
  }
}

async function credentialTaken(db: Db, tenantId: string, credentialId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: passkeys.id })
    .from(passkeys)
    .where(and(eq(passkeys.tenantId, tenantId), eq(passkeys.credentialId, credentialId)))
    .limit(1);
  return row !== undefined;
}

/** A refused ceremony answers 401 invalid_passkey, whichever check refused it. */
async function refusedAsInvalid<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw error instanceof PasskeyRejected ? new ApiError("invalid_passkey") : error;
  }
}
