// What the operator CLI does, as functions the dev bootstrap shares: create a tenant with its first
// admin, and the break-glass MFA reset. Passwords are hashed by the Worker's own code (src/auth).

import { newOperatorGrant } from "../src/admin/operator-grants";
import { hashPassword } from "../src/auth/password";
import { normalizeUsername } from "../src/auth/users";
import { operatorGrants } from "../src/db/schema";
import { randomId } from "../src/encoding";
import { executeSql, insertSql, sqlText, type Target } from "./d1";

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

/**
 * Break-glass: removes a user's MFA when no admin can (the last admin lost their device). The CLI
 * holds D1 access but no session, so it writes a one-time grant for this user and asks the Worker
 * at `url` to carry out the reset: the very reset an admin's click runs (src/admin/reset.ts), with
 * the attempt counters, the email and the audit event.
 */
export async function resetMfaThroughWorker(
  target: Target,
  url: string,
  tenantId: string,
  username: string,
): Promise<{ status: number; body: unknown }> {
  const { token, row } = await newOperatorGrant("reset-mfa", tenantId, username);
  executeSql(target, [insertSql(operatorGrants, row)]);
  let response: Response;
  try {
    response = await fetch(new URL("/api/v1/operator/reset-mfa", url), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: tenantId, username }),
    });
  } catch (error) {
    throw new Error(`could not reach the Worker at ${url} (${(error as Error).message})`);
  }
  return { status: response.status, body: await response.json().catch(() => null) };
}

function auditInsert(tenantId: string, action: string, targetId: string | null, details: object, at: number) {
  return `INSERT INTO audit_events (id, tenant_id, at, actor_id, action, target_id, ip, details)
    VALUES (${sqlText(randomId())}, ${sqlText(tenantId)}, ${at}, NULL, ${sqlText(action)}, ${sqlText(targetId)}, NULL,
      ${sqlText(JSON.stringify(details))})`;
}
