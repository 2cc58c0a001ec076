// An admin adds a user to their tenant. Every new account is audited with its role; an admin made
// with a stolen session would outlive that session, so making one needs a fresh sign-in.
import { auditRow, insertAuditWhen } from "../auth/audit";
import { assertFreshSignIn } from "../auth/sessions";
import { type NewUser, newUserRow } from "../auth/users";
import type { AdminContext } from "../context";
import { claimSucceeded } from "../db/claims";
import { type User, users } from "../db/schema";
import { ApiError } from "../errors";

export async function addTenantUser(ctx: AdminContext, input: NewUser): Promise<User> {
  const { db, auth } = ctx;
  if (input.role === "admin") assertFreshSignIn(auth.session);
  const row = await newUserRow(auth.tenant.id, input, ctx.config.passwordPepper);
  const audit = auditRow({
    tenantId: auth.tenant.id,
    action: "user.created",
    actorId: auth.user.id,
    targetId: row.id,
    ip: ctx.ip,
    details: { role: input.role },
  });
  // The unique index decides: two concurrent creations of one name cannot both succeed, and the
  // event is written only for the one that did.
  const [[created]] = await db.batch([
    db.insert(users).values(row).onConflictDoNothing().returning(),
    insertAuditWhen(db, audit, claimSucceeded),
  ]);
  if (!created) throw new ApiError("username_taken");
  return created;
}
