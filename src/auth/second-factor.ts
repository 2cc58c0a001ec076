// The second factor: a TOTP code from the active secret, or one unused backup code. Evaluating a code
// reads nothing and writes nothing; claiming it is one conditional write the caller puts in its batch.
import { and, eq, isNotNull, isNull, lt, type SQL } from "drizzle-orm";
import { now } from "../clock";
import type { Db } from "../db/client";
import { backupCodes, type User, users } from "../db/schema";
import type { Config } from "../env";
import { classifyMfaCode, hashBackupCode, normalizeMfaCode } from "./backup-codes";
import { openSecret } from "./secret-box";
import { findTotpStep } from "./totp";

export type ValidFactor =
  | { kind: "totp"; step: number }
  | { kind: "backup"; codeHash: string; remaining: number };
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
