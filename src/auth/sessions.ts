// Sessions: every token names a row here, so ending a session takes effect on the next request.
import { and, desc, eq, gt, isNull, lte, ne, type SQL } from "drizzle-orm";
import { now } from "../clock";
import { insertWhen } from "../db/claims";
import type { Db } from "../db/client";
import { deleteInChunks } from "../db/purge";
import { type Session, sessions, type Tenant, tenants, type User, users } from "../db/schema";
import { randomId } from "../encoding";
import { ApiError } from "../errors";
import { signToken, TOKEN_LIFETIME_MS, type TokenKind, verifyToken } from "./tokens";

/**
 * How long after the password was last proved a session may add a factor to the account (ASVS 5
 * §7.5.1): long enough to finish a setup, too short for a stolen session to be of use later.
 */
export const FRESH_SIGN_IN_MS = 10 * 60 * 1000;

/**
 * Whether the session proved the password recently enough to add a factor. An enrollment token
 * always has: it exists only for the minutes after a sign-in (TOKEN_LIFETIME_MS.enrollment).
 */
export function isFreshSignIn(session: Session, at: number): boolean {
  return session.kind === "enrollment" || at - session.authenticatedAt < FRESH_SIGN_IN_MS;
}

/**
 * Refuses an action that would add or replace a way into the account (a factor, an admin) unless
 * the session proved its password recently: a stolen session alone must not be enough for it.
 */
export function assertFreshSignIn(session: Session, at = now()): void {
  if (!isFreshSignIn(session, at)) throw new ApiError("reauthentication_required");
}

export interface IssuedSession {
  row: SessionRow;
  token: string;
  expiresAt: number;
}

export type SessionRow = typeof sessions.$inferInsert & { id: string; kind: TokenKind; expiresAt: number };

/** Who opens a session: shown to its owner in their list of sessions. */
export interface SessionClient {
  ip: string;
  userAgent: string | null;
}

/** A new session row of `kind` for the user, not written yet. */
export function newSessionRow(
  kind: TokenKind,
  user: Pick<User, "id" | "tenantId">,
  client: SessionClient,
  /** When the password was proved, if not just now (verify turning an enrollment into a session). */
  authenticatedAt?: number,
): SessionRow {
  const createdAt = now();
  return {
    id: randomId(),
    userId: user.id,
    tenantId: user.tenantId,
    kind,
    createdAt,
    expiresAt: createdAt + TOKEN_LIFETIME_MS[kind],
    authenticatedAt: authenticatedAt ?? createdAt,
    lastUsedAt: createdAt,
    ip: client.ip,
    userAgent: client.userAgent,
  };
}

/** The signed token that names a session row. */
export async function signSession(row: SessionRow, signingKey: Uint8Array): Promise<IssuedSession> {
  const claims = { sessionId: row.id, userId: row.userId, tenantId: row.tenantId };
  const token = await signToken(row.kind, claims, row.expiresAt, signingKey);
  return { row, token, expiresAt: row.expiresAt };
}

/**
 * Prepares a session row and its signed token without writing anything, so the caller can insert the
 * row in the same batch as the write that earns it (a TOTP step claim, a verify).
 */
export async function prepareSession(
  kind: TokenKind,
  user: User,
  client: SessionClient,
  signingKey: Uint8Array,
  authenticatedAt?: number,
): Promise<IssuedSession> {
  return signSession(newSessionRow(kind, user, client, authenticatedAt), signingKey);
}

/** Inserts the session only when `condition` holds at that point of a batch (see src/db/claims.ts). */
export function insertSessionWhen(db: Db, session: { row: SessionRow }, condition: SQL) {
  return insertWhen(db, sessions, [session.row], condition);
}

export interface Authenticated {
  session: Session;
  user: User;
  tenant: Tenant;
}

/**
 * Resolves a bearer token to its live session, user and tenant in one query. Null for a bad token,
 * an ended or expired session, or a token of another kind.
 */
export async function authenticate(
  db: Db,
  kind: TokenKind,
  token: string,
  signingKey: Uint8Array,
): Promise<Authenticated | null> {
  const claims = await verifyToken(kind, token, signingKey);
  if (!claims) return null;
  const [found] = await db
    .select({ session: sessions, user: users, tenant: tenants })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(sessions.id, claims.sessionId),
        eq(sessions.userId, claims.userId),
        eq(sessions.tenantId, claims.tenantId),
        eq(sessions.kind, kind),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now()),
        // A deactivated account's sessions were ended with it; this holds even for one that slipped by.
        isNull(users.deactivatedAt),
      ),
    )
    .limit(1);
  return found ?? null;
}

/**
 * How stale a session's last_used_at may get: a request writes it only when it is older than this,
 * so a busy session costs one write per five minutes, not one per request.
 */
export const SESSION_TOUCH_MS = 5 * 60 * 1000;

export function needsTouch(session: Session, at: number): boolean {
  return at - session.lastUsedAt >= SESSION_TOUCH_MS;
}

/** Records that the session was used now; concurrent requests write it once. */
export async function touchSession(db: Db, sessionId: string, at: number): Promise<void> {
  await db
    .update(sessions)
    .set({ lastUsedAt: at })
    .where(and(eq(sessions.id, sessionId), lte(sessions.lastUsedAt, at - SESSION_TOUCH_MS)));
}

/** A user's live sessions (signed in, not a pending second step), the most recently used first. */
export function listLiveSessions(db: Db, userId: string): Promise<Session[]> {
  return db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        eq(sessions.kind, "session"),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now()),
      ),
    )
    .orderBy(desc(sessions.lastUsedAt), desc(sessions.createdAt))
    .limit(MAX_LISTED_SESSIONS);
}

/** Enough for anyone's devices; a user with more sees the most recently used. */
const MAX_LISTED_SESSIONS = 100;

/** Records that the session's holder proved their password again now (when `condition` holds). */
export function markReauthenticated(db: Db, sessionId: string, at: number, condition?: SQL) {
  return db
    .update(sessions)
    .set({ authenticatedAt: at })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), condition));
}

export function revokeSession(db: Db, sessionId: string, condition?: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now() })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), condition));
}

/**
 * Ends every live session of a user, except `keepSessionId` when given (the one making the change),
 * and only when `condition` holds (a guard inside a claim batch).
 */
export function revokeUserSessions(db: Db, userId: string, keepSessionId?: string, condition?: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now() })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keepSessionId ? ne(sessions.id, keepSessionId) : undefined,
        condition,
      ),
    );
}

/**
 * Deletes sessions past their expiry (the daily cron). Their tokens expired with them, so nothing
 * can use them any more; without this the table grows by a row per sign-in.
 */
export function purgeExpiredSessions(db: Db): Promise<number> {
  return deleteInChunks(db, sessions, sessions.id, lte(sessions.expiresAt, now()));
}
