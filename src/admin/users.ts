// An admin manages the users of their tenant: adds them, changes their role, deactivates,
// reactivates and deletes them. Every change is audited. An admin made with a stolen session would
// outlive that session, so making one needs a fresh sign-in; and a tenant always keeps an active
// admin, which the writes themselves check, so two admins demoting each other at once cannot both win.
import { and, eq, isNotNull, isNull, ne, type SQL, sql } from "drizzle-orm";
import { type AuditAction, type AuditRow, auditRow, insertAuditWhen } from "../auth/audit";
import { passwordWords } from "../auth/password-change";
import { assertAcceptablePassword } from "../auth/password-policy";
import { assertFreshSignIn, revokeUserSessions } from "../auth/sessions";
import { type NewUser, newUserRow, type Role } from "../auth/users";
import { now } from "../clock";
import type { AdminContext } from "../context";
import { anchorExists, changedRows, claimSucceeded, type Statement } from "../db/claims";
import { passwordResets, type User, users } from "../db/schema";
import { ApiError } from "../errors";

export async function addTenantUser(ctx: AdminContext, input: NewUser): Promise<User> {
  const { db, auth } = ctx;
  if (input.role === "admin") assertFreshSignIn(auth.session);
  await assertAcceptablePassword(
    ctx.env.ASSETS,
    input.password,
    passwordWords(input, auth.tenant),
    "password",
  );
  const row = await newUserRow(auth.tenant.id, input, ctx.config.passwordPepper);
  const audit = event(ctx, "user.created", row.id, { role: input.role });
  // The unique index decides: two concurrent creations of one name cannot both succeed, and the
  // event is written only for the one that did.
  const [[created]] = await db.batch([
    db.insert(users).values(row).onConflictDoNothing().returning(),
    insertAuditWhen(db, audit, claimSucceeded),
  ]);
  if (!created) throw new ApiError("username_taken");
  return created;
}

export interface UserChange {
  role?: Role | undefined;
  active?: boolean | undefined;
}

/**
 * Changes a user's role or whether they are active. Deactivating ends every session and reset
 * link of the user at once; the account then signs in like an unknown one and counts nowhere.
 */
export async function updateTenantUser(ctx: AdminContext, user: User, change: UserChange): Promise<User> {
  const { db, auth } = ctx;
  const active = user.deactivatedAt === null;
  const role = change.role ?? user.role;
  const willBeActive = change.active ?? active;
  if (user.id === auth.user.id && !willBeActive) throw new ApiError("own_account");
  if (role === user.role && willBeActive === active) return user;
  // Making an admin, or bringing one back, adds a way into the tenant's administration.
  if (role === "admin" && (user.role !== "admin" || !active)) assertFreshSignIn(auth.session);

  const events: AuditRow[] = [];
  if (role !== user.role)
    events.push(event(ctx, "user.role_changed", user.id, { from: user.role, to: role }));
  if (willBeActive !== active) {
    events.push(event(ctx, willBeActive ? "user.reactivated" : "user.deactivated", user.id));
  }
  const [first, ...rest] = events as [AuditRow, ...AuditRow[]];
  const won = anchorExists("audit_events", first.id);
  const statements: Statement[] = [
    db
      .update(users)
      .set({ role, deactivatedAt: willBeActive ? null : (user.deactivatedAt ?? now()) }) // keeps when it began
      .where(
        and(
          unchanged(user),
          removesActiveAdmin(user, role, willBeActive) ? anotherActiveAdmin(user) : undefined,
        ),
      )
      .returning(),
    insertAuditWhen(db, first, claimSucceeded),
    ...rest.map((row) => insertAuditWhen(db, row, won)),
  ];
  if (!willBeActive) statements.push(...cutOff(ctx, user, won));
  const [[updated]] = (await db.batch(statements as [Statement, ...Statement[]])) as unknown as [User[]];
  if (!updated) throw refusal(user, role, willBeActive);
  return updated;
}

/**
 * Deletes a user: the row and everything hanging from it (sessions, backup codes, reset links,
 * reminders) go; the audit trail keeps its events, which name the user by id only.
 */
export async function deleteTenantUser(ctx: AdminContext, user: User): Promise<void> {
  const { db, auth } = ctx;
  if (user.id === auth.user.id) throw new ApiError("own_account");
  const audit = event(ctx, "user.deleted", user.id, { role: user.role });
  const [deleted] = await db.batch([
    db
      .delete(users)
      .where(
        and(
          unchanged(user),
          removesActiveAdmin(user, "member", false) ? anotherActiveAdmin(user) : undefined,
        ),
      ),
    insertAuditWhen(db, audit, claimSucceeded),
  ]);
  if (changedRows(deleted) === 0) throw refusal(user, "member", false);
}

/** An event the signed-in admin caused on a user of their tenant. */
function event(ctx: AdminContext, action: AuditAction, targetId: string, details?: Record<string, unknown>) {
  return auditRow({
    tenantId: ctx.auth.tenant.id,
    action,
    actorId: ctx.auth.user.id,
    targetId,
    ip: ctx.ip,
    details,
  });
}

/** The user is still as this request read them (role and active state): no lost updates. */
function unchanged(user: User): SQL | undefined {
  return and(
    eq(users.id, user.id),
    eq(users.tenantId, user.tenantId),
    eq(users.role, user.role),
    user.deactivatedAt === null ? isNull(users.deactivatedAt) : isNotNull(users.deactivatedAt),
  );
}

function removesActiveAdmin(user: User, role: Role, active: boolean): boolean {
  return user.role === "admin" && user.deactivatedAt === null && (role !== "admin" || !active);
}

/** Another active admin of the tenant exists at the moment of the write. */
function anotherActiveAdmin(user: User): SQL {
  return sql`exists (select 1 from ${users} where ${and(
    eq(users.tenantId, user.tenantId),
    eq(users.role, "admin"),
    isNull(users.deactivatedAt),
    ne(users.id, user.id),
  )})`;
}

/** What a deactivation ends with the account: its sessions and its reset links. */
function cutOff(ctx: AdminContext, user: User, condition: SQL): Statement[] {
  return [
    revokeUserSessions(ctx.db, user.id, undefined, condition),
    ctx.db.delete(passwordResets).where(and(eq(passwordResets.userId, user.id), condition)),
  ];
}

/** Why a guarded write changed nothing: the last admin, or a change by someone else meanwhile. */
function refusal(user: User, role: Role, active: boolean): ApiError {
  return removesActiveAdmin(user, role, active) ? new ApiError("last_admin") : new ApiError("user_conflict");
}
