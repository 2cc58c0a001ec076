// The sessions a user has open, as their owner and their admins see them, and ending them: one
// session, all but the current one, or (an admin) all of a user's. Each end is audited.
import { and, eq, gt, sql } from "drizzle-orm";
import { now } from "../clock";
import type { AdminContext, SignedInContext } from "../context";
import { changedRows } from "../db/claims";
import type { Db } from "../db/client";
import { type Session, sessions, type User } from "../db/schema";
import { ApiError } from "../errors";
import { auditRow, insertAuditWhen, ownAuditRow } from "./audit";
import { listLiveSessions, revokeSession, revokeUserSessions } from "./sessions";

export interface ListedSession {
  id: string;
  createdAt: number;
  /** To within five minutes (SESSION_TOUCH_MS). */
  lastUsedAt: number;
  ip: string | null;
  userAgent: string | null;
  /** The session this request came with. */
  current: boolean;
}

export async function sessionsOf(db: Db, userId: string, currentId: string | null): Promise<ListedSession[]> {
  const rows = await listLiveSessions(db, userId);
  return rows.map((row: Session) => ({
    id: row.id,
    createdAt: row.createdAt,
    lastUsedAt: Math.max(row.lastUsedAt, row.createdAt),
    ip: row.ip,
    userAgent: row.userAgent,
    current: row.id === currentId,
  }));
}

/** The event follows only a write that ended something. */
const somethingChanged = sql`changes() > 0`;

/** The signed-in user ends one of their live sessions (the current one too: that is signing out). */
export async function endOwnSession(ctx: SignedInContext, sessionId: string): Promise<void> {
  const { db, auth } = ctx;
  const mine = and(
    eq(sessions.userId, auth.user.id),
    eq(sessions.kind, "session"),
    gt(sessions.expiresAt, now()),
  );
  const audit = ownAuditRow(auth.user, "session.ended", ctx.ip, { session_id: sessionId });
  const [ended] = await db.batch([
    revokeSession(db, sessionId, mine),
    insertAuditWhen(db, audit, somethingChanged),
  ]);
  if (changedRows(ended) === 0) throw new ApiError("not_found");
}

/** The signed-in user ends every session but the one they are using (a pending sign-in too). */
export async function endOtherSessions(ctx: SignedInContext): Promise<void> {
  const { db, auth } = ctx;
  const audit = ownAuditRow(auth.user, "sessions.ended", ctx.ip, { scope: "others" });
  await db.batch([
    revokeUserSessions(db, auth.user.id, auth.session.id),
    insertAuditWhen(db, audit, somethingChanged),
  ]);
}

/** An admin ends every session of a user of their tenant. */
export async function endUserSessions(ctx: AdminContext, user: User): Promise<void> {
  const { db, auth } = ctx;
  const audit = auditRow({
    tenantId: user.tenantId,
    action: "sessions.ended",
    actorId: auth.user.id,
    targetId: user.id,
    ip: ctx.ip,
    details: { scope: "all" },
  });
  await db.batch([revokeUserSessions(db, user.id), insertAuditWhen(db, audit, somethingChanged)]);
}
