// The second factor: a TOTP code from the active secret, one unused backup code, or a passkey
// assertion. Evaluating a code reads nothing and writes nothing (a passkey's spends its challenge);
// claiming it is one conditional write the caller puts in its batch.
import { and, eq, isNotNull, isNull, lt, type SQL } from "drizzle-orm";
import { now } from "../clock";
import type { Db } from "../db/client";
import { backupCodes, type Passkey, passkeys, type User, users } from "../db/schema";
import type { Config } from "../env";
import { classifyMfaCode, hashBackupCode, normalizeMfaCode } from "./backup-codes";
import { type ChallengeRow, spendChallenge } from "./passkey-challenges";
import { openSecret } from "./secret-box";
import { findTotpStep } from "./totp";
import {
  type AssertionCredential,
  type Expected,
  PasskeyRejected,
  relyingPartyId,
  verifyAssertion,
} from "./webauthn";

export type ValidFactor =
  | { kind: "totp"; step: number }
  | { kind: "backup"; codeHash: string; remaining: number }
  | { kind: "passkey"; passkey: Passkey; signCount: number; backedUp: boolean };

/** A passkey's answer to a challenge we issued (its id) in place of a code. */
export interface PasskeyAssertion {
  challengeId: string;
  credential: AssertionCredential;
}

/** A second factor as a request sends it: a code, or a passkey assertion. */
export interface SecondFactorInput {
  code?: string | undefined;
  passkey?: PasskeyAssertion | undefined;
}
export type SecondFactor = ValidFactor | { kind: "invalid" };

const INVALID: SecondFactor = { kind: "invalid" };

/** Whether the submitted code looks like a backup code, so its caller knows to load the hashes. */
export function isBackupCodeShape(rawCode: string | undefined): boolean {
  return rawCode !== undefined && classifyMfaCode(normalizeMfaCode(rawCode)) === "backup";
}

/**
 * Checks `rawCode` against the user's active TOTP secret (a step later than the last one accepted)
 * or against the hashes of their unused backup codes.
 */
export async function evaluateSecondFactor(
  user: User,
  rawCode: string,
  unusedBackupHashes: readonly string[],
  config: Config,
): Promise<SecondFactor> {
  const code = normalizeMfaCode(rawCode);
  switch (classifyMfaCode(code)) {
    case "totp": {
      if (!user.totpSecret || user.mfaEnabledAt === null) return INVALID;
      const secret = await openSecret(user.totpSecret, config.totpKeys, user.id);
      const step = await findTotpStep(secret, code, now(), user.totpLastStep);
      return step === null ? INVALID : { kind: "totp", step };
    }
    case "backup": {
      const codeHash = await hashBackupCode(config.backupCodePepper, user.id, code);
      if (!unusedBackupHashes.includes(codeHash)) return INVALID;
      return { kind: "backup", codeHash, remaining: unusedBackupHashes.length - 1 };
    }
    default:
      return INVALID;
  }
}

/**
 * The conditional write that claims a code: it changes one row only if the step is still later than
 * the last accepted one (and the secret unchanged), or the backup code still unused, and only while
 * `condition` holds (the sign-in it completes is still pending).
 */
export function claimSecondFactor(db: Db, user: User, factor: ValidFactor, condition?: SQL) {
  if (factor.kind === "passkey") {
    // The counter as read: of two uses racing with one passkey, one moves it and the other fails.
    return db
      .update(passkeys)
      .set({ signCount: factor.signCount, backedUp: factor.backedUp, lastUsedAt: now() })
      .where(
        and(
          eq(passkeys.id, factor.passkey.id),
          eq(passkeys.userId, user.id),
          eq(passkeys.signCount, factor.passkey.signCount),
          condition,
        ),
      );
  }
  if (factor.kind === "totp") {
    return db
      .update(users)
      .set({ totpLastStep: factor.step })
      .where(
        and(
          eq(users.id, user.id),
          lt(users.totpLastStep, factor.step),
          eq(users.totpSecret, user.totpSecret ?? ""),
          isNotNull(users.mfaEnabledAt),
          condition,
        ),
      );
  }
  return db
    .update(backupCodes)
    .set({ usedAt: now() })
    .where(
      and(
        eq(backupCodes.userId, user.id),
        eq(backupCodes.codeHash, factor.codeHash),
        eq(backupCodes.status, "active"),
        isNull(backupCodes.usedAt),
        condition,
      ),
    );
}

export function selectUnusedBackupHashes(db: Db, userId: string) {
  return db
    .select({ codeHash: backupCodes.codeHash })
    .from(backupCodes)
    .where(and(eq(backupCodes.userId, userId), eq(backupCodes.status, "active"), isNull(backupCodes.usedAt)));
}

/** What a ceremony for this service must have been made for, with the challenge we issued. */
export function expectedCeremony(config: Config, challenge: Pick<ChallengeRow, "challenge">): Expected {
  return {
    origin: config.publicOrigin,
    rpId: relyingPartyId(config.publicOrigin),
    challenge: challenge.challenge,
  };
}

/**
 * Spends the assertion's challenge (issued to this user for `binding`) and checks the assertion
 * against the user's passkey of that credential id. Invalid whenever any of it fails.
 */
export async function evaluatePasskey(
  db: Db,
  config: Config,
  user: User,
  assertion: PasskeyAssertion,
  binding: { purpose: ChallengeRow["purpose"]; sessionId?: string | null },
): Promise<SecondFactor> {
  const challenge = await spendChallenge(db, assertion.challengeId, {
    ...binding,
    tenantId: user.tenantId,
    userId: user.id,
  });
  if (!challenge) return INVALID;
  const [passkey] = await db
    .select()
    .from(passkeys)
    .where(
      and(
        eq(passkeys.tenantId, user.tenantId),
        eq(passkeys.userId, user.id),
        eq(passkeys.credentialId, assertion.credential.id),
      ),
    )
    .limit(1);
  if (!passkey) return INVALID;
  const verified = await checkAssertion(assertion.credential, expectedCeremony(config, challenge), passkey);
  return verified ? { kind: "passkey", passkey, ...verified } : INVALID;
}

/** verifyAssertion against a stored passkey; null when it refuses. */
export async function checkAssertion(credential: AssertionCredential, expected: Expected, passkey: Passkey) {
  try {
    return await verifyAssertion(credential, expected, passkey);
  } catch (error) {
    if (error instanceof PasskeyRejected) return null;
    throw error;
  }
}
