// What the operator CLI does, as functions the dev bootstrap shares: create a tenant with its first
// admin, and the break-glass MFA reset. Passwords are hashed by the Worker's own code (src/auth).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { newOperatorGrant } from "../src/admin/operator-grants";
import { NewTenant as NewTenantSchema } from "../src/api/schemas";
import { auditRow, withMac } from "../src/auth/audit";
import type { Assets } from "../src/auth/common-passwords";
import { passwordProblem } from "../src/auth/password-policy";
import { newUserRow } from "../src/auth/users";
import { auditEvents, operatorGrants, tenants, users } from "../src/db/schema";
import { executeSql, insertSql, type Target } from "./d1";

export interface NewTenant {
  tenantId: string;
  name: string;
  username: string;
  email: string;
  password: string;
  pepper: Uint8Array;
  /** AUDIT_SIGNING_KEY: the tenant.created event is written with its MAC, as the Worker writes events. */
  auditKey: Uint8Array;
  /** Keep an existing tenant and set the admin's password again (local development's reseed). */
  upsert?: boolean;
}

/**
 * Creates a tenant and its first admin, checked with the API's own schemas first: what the CLI
 * stores is what the API would have accepted. Throws InvalidInputError naming each problem.
 */
export async function createTenantWithAdmin(target: Target, input: NewTenant): Promise<void> {
  const parsed = NewTenantSchema.safeParse({
    tenant_id: input.tenantId,
    name: input.name,
    username: input.username,
    email: input.email,
    password: input.password,
  });
  if (!parsed.success) {
    throw new InvalidInputError(
      parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    );
  }
  const { tenant_id: tenantId, name, username, email, password } = parsed.data;
  const problem = await passwordProblem(publicAssets, password, { words: [username, tenantId, name] });
  if (problem) throw new InvalidInputError([`password: ${problem}`]);
  const user = await newUserRow(tenantId, { username, email, password, role: "admin" }, input.pepper);
  const tenantConflict = input.upsert ? " ON CONFLICT DO NOTHING" : "";
  const userConflict = input.upsert
    ? " ON CONFLICT (tenant_id, username_key) DO UPDATE SET password_hash = excluded.password_hash"
    : "";
  const audit = withMac(
    input.auditKey,
    auditRow({
      tenantId,
      action: "tenant.created",
      actorId: null,
      targetId: user.id,
      ip: null,
      details: { by: "operator" },
    }),
  );
  executeSql(target, [
    insertSql(tenants, { id: tenantId, name, createdAt: user.createdAt }) + tenantConflict,
    insertSql(users, user) + userConflict,
    insertSql(auditEvents, audit),
  ]);
}

/** The Worker's static assets as the CLI finds them: public/ on disk (the common-password list). */
const publicAssets: Assets = {
  fetch: async (input: RequestInfo | URL) => {
    const { pathname } = new URL(input instanceof Request ? input.url : input);
    return new Response(readFileSync(join(import.meta.dirname, "..", "public", pathname)));
  },
} as Assets;

export class InvalidInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
  }
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
