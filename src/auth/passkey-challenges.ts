// WebAuthn challenges: 32 random bytes, five minutes, single-use. A challenge is spent by deleting
// its row (DELETE … RETURNING), so of two requests presenting it exactly one gets it, and a failed
// ceremony spends it too. Each is bound to what asked for it (webauthnChallenges in src/db/schema.ts).
import { and, eq, isNull, lte, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { now } from "../clock";
import { insertWhen } from "../db/claims";
import type { Db } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { webauthnChallenges } from "../db/schema";
import { randomBytes, randomId, toBase64Url } from "../encoding";

export const CHALLENGE_LIFETIME_MS = 5 * 60 * 1000;

export type ChallengeRow = typeof webauthnChallenges.$inferSelect;
export type ChallengeBinding = Pick<ChallengeRow, "purpose" | "tenantId" | "userId" | "sessionId">;
/** What a challenge presented must have been issued for; a sessionId left undefined matches any. */
export type ChallengeMatch = Omit<ChallengeBinding, "sessionId"> & { sessionId?: string | null };

/** Issues a challenge for `binding`. */
export async function issueChallenge(db: Db, binding: ChallengeBinding): Promise<ChallengeRow> {
  const row = newChallenge(binding);
  await db.insert(webauthnChallenges).values(row);
  return row;
}

/** Issues a challenge for `binding` only while `condition` holds at the write; null otherwise. */
export async function issueChallengeWhen(db: Db, binding: ChallengeBinding, condition: SQL) {
  const row = newChallenge(binding);
  const written = await insertWhen(db, webauthnChallenges, [row], condition).returning({
    id: webauthnChallenges.id,
  });
  return written.length > 0 ? row : null;
}

function newChallenge(binding: ChallengeBinding): ChallengeRow {
  return {
    id: randomId(),
    challenge: toBase64Url(randomBytes(32)),
    expiresAt: now() + CHALLENGE_LIFETIME_MS,
    ...binding,
  };
}

/**
 * Spends the challenge `id` if it was issued for `binding` (every field given must match, a null one
 * included); null when it does not exist, was spent already, belongs elsewhere or has expired.
 */
export async function spendChallenge(db: Db, id: string, binding: ChallengeMatch) {
  return spendWhere(db, and(eq(webauthnChallenges.id, id), ...matching(binding)));
}

/** Spends the challenge a session holds with this value (a registration names no challenge id). */
export async function spendChallengeByValue(db: Db, challenge: string, binding: ChallengeMatch) {
  return spendWhere(db, and(eq(webauthnChallenges.challenge, challenge), ...matching(binding)));
}

async function spendWhere(db: Db, where: SQL | undefined): Promise<ChallengeRow | null> {
  const [row] = await db.delete(webauthnChallenges).where(where).returning();
  return row && row.expiresAt > now() ? row : null;
}

function matching(binding: ChallengeMatch): SQL[] {
  const column = (value: string | null, col: SQLiteColumn) => (value === null ? isNull(col) : eq(col, value));
  return [
    eq(webauthnChallenges.purpose, binding.purpose),
    eq(webauthnChallenges.tenantId, binding.tenantId),
    column(binding.userId, webauthnChallenges.userId),
    ...(binding.sessionId === undefined ? [] : [column(binding.sessionId, webauthnChallenges.sessionId)]),
  ];
}

/** Deletes challenges past their five minutes (the daily cron): unanswered ones would pile up. */
export function purgeExpiredChallenges(db: Db): Promise<number> {
  return deleteInChunks(
    db,
    webauthnChallenges,
    webauthnChallenges.id,
    lte(webauthnChallenges.expiresAt, now()),
  );
}
