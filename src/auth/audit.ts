// The audit trail: one row per change that matters, with who did it, to whom, from where and when.
import { and, desc, eq, gt, lt, or, type SQL } from "drizzle-orm";
import { macOf } from "../audit/chain";
import { now } from "../clock";
import { insertWhen } from "../db/claims";
import type { Db } from "../db/client";
import { auditEvents } from "../db/schema";
import { randomId } from "../encoding";

export type AuditAction =
  | "mfa.enabled"
  | "mfa.disabled"
  | "mfa.device_changed"
  | "mfa.totp_added"
  | "mfa.passkey_added"
  | "mfa.passkey_renamed"
  | "mfa.passkey_removed"
  | "mfa.backup_code_used"
  | "mfa.backup_codes_regenerated"
  | "mfa.reset"
  | "mfa.lockout"
  | "settings.updated"
  | "user.created"
  | "user.role_changed"
  | "user.deactivated"
  | "user.reactivated"
  | "user.deleted"
  | "user.password_changed"
  | "user.password_reset"
  | "user.password_reset_requested"
  | "user.password_reset_sent"
  | "session.ended"
  | "sessions.ended"
  | "tenant.created"
  | "reminders.sent"
  | "email.failed"
  | "email.limit_reached";

export interface AuditEvent {
  tenantId: string;
  action: AuditAction;
  actorId: string | null;
  targetId: string | null;
  ip: string | null;
  details?: Record<string, unknown>;
}

export type AuditRow = typeof auditEvents.$inferInsert & { id: string };

export function auditRow(event: AuditEvent): AuditRow {
  return { id: randomId(), at: now(), ...event, details: event.details ?? null };
}

/** An event a user caused on their own account: they are both actor and target. */
export function ownAuditRow(
  user: { id: string; tenantId: string },
  action: AuditAction,
  ip: string,
  details?: Record<string, unknown>,
): AuditRow {
  return auditRow({ tenantId: user.tenantId, action, actorId: user.id, targetId: user.id, ip, details });
}

/**
 * The row with its MAC over the content as D1 will store it (details as drizzle writes JSON): every
 * event reaches D1 through here, the CLI's included.
 */
export function withMac(key: Uint8Array, row: AuditRow): AuditRow {
  const content = {
    ...row,
    actorId: row.actorId ?? null,
    targetId: row.targetId ?? null,
    ip: row.ip ?? null,
    details: row.details == null ? null : JSON.stringify(row.details),
  };
  return { ...row, mac: macOf(key, content) };
}

export function insertAudit(db: Db, event: AuditEvent) {
  return db.insert(auditEvents).values(withMac(db.auditKey, auditRow(event)));
}

/**
 * Inserts the event only when `condition` holds at that point of the batch. The row's fresh id then
 * marks that this batch's claim won, for the statements after it (see src/db/claims.ts).
 */
export function insertAuditWhen(db: Db, row: AuditRow, condition: SQL) {
  return insertWhen(db, auditEvents, [withMac(db.auditKey, row)], condition);
}

/** A page of a tenant's events, newest first; the cursor is the last event's "at:id". */
export async function listAuditEvents(
  db: Db,
  tenantId: string,
  page: { limit: number; cursor?: string | undefined },
) {
  const [at, id] = parseAuditCursor(page.cursor);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, tenantId),
        at === undefined ? undefined : beyondEvent({ at, id: id ?? "" }, "desc"),
      ),
    )
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const events = more ? rows.slice(0, page.limit) : rows;
  const last = events.at(-1);
  return { events, nextCursor: more && last ? `${last.at}:${last.id}` : null };
}

/** A place in the (at, id) order of a tenant's events: where a keyset page ended. */
export interface EventPosition {
  at: number;
  id: string;
}

/** The events past `position` in (at, id) order: after it ascending, before it descending. */
export function beyondEvent(position: EventPosition, order: "asc" | "desc"): SQL | undefined {
  const past = order === "asc" ? gt : lt;
  return or(
    past(auditEvents.at, position.at),
    and(eq(auditEvents.at, position.at), past(auditEvents.id, position.id)),
  );
}

function parseAuditCursor(cursor: string | undefined): [number | undefined, string | undefined] {
  const match = cursor?.match(/^(\d{1,16}):(.+)$/);
  if (!match) return [undefined, undefined];
  return [Number(match[1]), match[2]];
}
