// Forgotten passwords: a link with a random token (only its SHA-256 is stored) that is good once,
// for 30 minutes. Setting a new password through it signs nobody in: every session ends, and the
// next sign-in asks for the second factor as any other does, so a reset never gets past MFA.
// "Forgot your password?" answers the same whether or not the account exists, and does the work
// after the response, so not even its timing tells.
import { and, eq, gt, isNull } from "drizzle-orm";
import { now } from "../clock";
import type { AdminContext, RequestContext } from "../context";
import { changedRows, claimSucceeded } from "../db/claims";
import { passwordResets, type Tenant, tenants, type User, users } from "../db/schema";
import { randomBytes, sha256Hex, toBase64Url } from "../encoding";
import { ApiError } from "../errors";
import { takeResetLinkBudget } from "../limiter/limits";
import { passwordResetEmail, securityEmail } from "../reminders/jobs";
import { auditRow, insertAudit } from "./audit";
import { hashPassword } from "./password";
import { passwordWords, replacePassword } from "./password-change";
import { assertAcceptablePassword } from "./password-policy";
import { normalizeUsername } from "./usernames";
import { findUserByName } from "./users";

/** How long a reset link works (OWASP's forgot-password guidance: short, single use). */
export const RESET_LINK_LIFETIME_MS = 30 * 60 * 1000;

/**
 * "Forgot your password?": emails a reset link to the account's address if the account exists and
 * is active. Returns before knowing; refused only when the address asked too often (429), which
 * does not depend on the account.
 */
export async function requestPasswordReset(
  ctx: RequestContext,
  request: { tenantId: string; username: string },
): Promise<void> {
  const usernameKey = normalizeUsername(request.username);
  const allowed = await takeResetLinkBudget(ctx, { tenantId: request.tenantId, usernameKey, by: "self" });
  if (!allowed) return;
  ctx.defer(async () => {
    const found = await findUserByName(ctx.db, request.tenantId, request.username);
    if (!found || found.user.deactivatedAt !== null) return;
    await sendResetLink(ctx, found.user, found.tenant, null);
  });
}

/** An admin sends a user of their tenant a reset link; the admin never sees it. */
export async function sendPasswordResetByAdmin(ctx: AdminContext, user: User): Promise<void> {
  if (user.deactivatedAt !== null) throw new ApiError("user_deactivated");
  await takeResetLinkBudget(ctx, { tenantId: user.tenantId, usernameKey: user.usernameKey, by: "admin" });
  await sendResetLink(ctx, user, ctx.auth.tenant, ctx.auth.user.id);
}

async function sendResetLink(ctx: RequestContext, user: User, tenant: Tenant, adminId: string | null) {
  const token = toBase64Url(randomBytes(32));
  const createdAt = now();
  const expiresAt = createdAt + RESET_LINK_LIFETIME_MS;
  const row = {
    tokenHash: await sha256Hex(token),
    userId: user.id,
    tenantId: user.tenantId,
    createdAt,
    expiresAt,
    requestedBy: adminId,
  };
  await ctx.db.batch([
    ctx.db.insert(passwordResets).values(row),
    insertAudit(ctx.db, {
      tenantId: user.tenantId,
      action: adminId ? "user.password_reset_sent" : "user.password_reset_requested",
      actorId: adminId,
      targetId: user.id,
      ip: ctx.ip,
    }),
  ]);
  ctx.notify(passwordResetEmail(user, tenant.name, { token, expiresAt, by: adminId ? "admin" : "self" }));
}

/** The account a reset link names, while the link is unspent, unexpired and the account active. */
export async function findResetLink(ctx: RequestContext, token: string) {
  if (token.length === 0 || token.length > 200) return null;
  const [found] = await ctx.db
    .select({ user: users, tenant: tenants, tokenHash: passwordResets.tokenHash })
    .from(passwordResets)
    .innerJoin(users, eq(users.id, passwordResets.userId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(passwordResets.tokenHash, await sha256Hex(token)),
        eq(passwordResets.tenantId, users.tenantId),
        gt(passwordResets.expiresAt, now()),
        isNull(users.deactivatedAt),
      ),
    );
  return found ?? null;
}

/**
 * Sets a new password through a reset link: spends the link, ends every session of the user and
 * every other link, audits and emails. Opens no session.
 */
export async function resetPassword(
  ctx: RequestContext,
  reset: { token: string; newPassword: string },
): Promise<void> {
  const found = await findResetLink(ctx, reset.token);
  if (!found) throw new ApiError("invalid_reset_token");
  const { user, tenant } = found;
  await assertAcceptablePassword(ctx.env.ASSETS, reset.newPassword, passwordWords(user, tenant));
  const hash = await hashPassword(reset.newPassword, ctx.config.passwordPepper);
  const audit = auditRow({
    tenantId: user.tenantId,
    action: "user.password_reset",
    actorId: user.id,
    targetId: user.id,
    ip: ctx.ip,
  });
  const spend = ctx.db
    .delete(passwordResets)
    .where(and(eq(passwordResets.tokenHash, found.tokenHash), gt(passwordResets.expiresAt, now())));
  const [spent, replaced] = await ctx.db.batch([
    spend,
    ...replacePassword(ctx.db, user, hash, audit, { condition: claimSucceeded }),
  ]);
  // Spent by a concurrent request, or the password changed meanwhile (which spent every link).
  if (changedRows(spent) === 0 || changedRows(replaced) === 0) throw new ApiError("invalid_reset_token");
  ctx.notify(securityEmail(user, tenant.name, "password_reset"));
}
