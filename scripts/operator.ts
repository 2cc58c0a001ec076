// What the operator CLI does, as functions the dev bootstrap shares: create a tenant with its first
// admin, and the break-glass MFA reset. Passwords are hashed by the Worker's own code (src/auth).
import { hashPassword } from "../src/auth/password";
import { normalizeUsername } from "../src/auth/users";
import { randomId } from "../src/encoding";
import { executeSql, querySql, sqlText, type Target } from "./d1";

export interface NewTenant {
  tenantId: string;
  name: string;
  username: string;
  email: string;
  password: string;
  pepper: Uint8Array;
  /** Keep an existing tenant and set the admin's password again (local development's reseed). */
  upsert?: boolean;
}

export async function createTenantWithAdmin(target: Target, input: NewTenant): Promise<void> {
  const at = Date.now();
  const hash = await hashPassword(input.password, input.pepper);
  const conflict = input.upsert ? "ON CONFLICT DO NOTHING" : "";
  const userConflict = input.upsert
    ? "ON CONFLICT (tenant_id, username_key) DO UPDATE SET password_hash = excluded.password_hash"
    : "";
  executeSql(target, [
    `INSERT INTO tenants (id, name, created_at) VALUES (${sqlText(input.tenantId)}, ${sqlText(input.name)}, ${at}) ${conflict}`,
    `INSERT INTO users (id, tenant_id, username, username_key, email, role, password_hash, created_at)
     VALUES (${sqlText(randomId())}, ${sqlText(input.tenantId)}, ${sqlText(input.username)},
       ${sqlText(normalizeUsername(input.username))}, ${sqlText(input.email)}, 'admin', ${sqlText(hash)}, ${at}) ${userConflict}`,
    auditInsert(input.tenantId, "tenant.created", null, { admin: input.username, by: "operator" }, at),
  ]);
}

/** Break-glass: removes a user's MFA when no admin can (the last admin lost their device). */
export function resetUserMfa(target: Target, tenantId: string, username: string): boolean {
  const key = normalizeUsername(username);
  const [user] = querySql<{ id: string }>(
    target,
    `SELECT id FROM users WHERE tenant_id = ${sqlText(tenantId)} AND username_key = ${sqlText(key)}`,
  );
  if (!user) return false;
  const at = Date.now();
  const id = sqlText(user.id);
  executeSql(target, [
    `UPDATE users SET mfa_enabled_at = NULL, totp_secret = NULL, totp_pending_secret = NULL WHERE id = ${id}`,
    `DELETE FROM backup_codes WHERE user_id = ${id}`,
    `UPDATE sessions SET revoked_at = ${at} WHERE user_id = ${id} AND revoked_at IS NULL`,
    auditInsert(tenantId, "mfa.reset", user.id, { by: "operator" }, at),
  ]);
  return true;
}

function auditInsert(tenantId: string, action: string, targetId: string | null, details: object, at: number) {
  return `INSERT INTO audit_events (id, tenant_id, at, actor_id, action, target_id, ip, details)
    VALUES (${sqlText(randomId())}, ${sqlText(tenantId)}, ${at}, NULL, ${sqlText(action)}, ${sqlText(targetId)}, NULL,
      ${sqlText(JSON.stringify(details))})`;
}
