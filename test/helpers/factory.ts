// Fresh tenants and users for each test, written through the same domain code the API uses.
import { env } from "cloudflare:workers";
import { createUser, type Role } from "../../src/auth/users";
import { now } from "../../src/clock";
import { openDb } from "../../src/db/client";
import { tenants, type User } from "../../src/db/schema";
import { loadConfig } from "../../src/env";

export const config = loadConfig(env);
export const db = openDb(env.DB, config.auditSigningKey);
/** What the audit trail's functions take (src/audit/seal.ts): D1 and the chain anchors. */
export const trail = { env, db };
/** Where sessions written directly by a test come from. */
export const TEST_CLIENT = { ip: "192.0.2.1", userAgent: "vitest" };

let counter = 0;
/** A slug no other test in this file uses. */
export function uniqueSlug(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

export interface TestUser {
  user: User;
  username: string;
  password: string;
  tenantId: string;
}

export async function createTenant(
  options: { id?: string } = {},
): Promise<{ tenantId: string; admin: TestUser }> {
  const tenantId = options.id ?? uniqueSlug();
  await db.insert(tenants).values({ id: tenantId, name: `Tenant ${tenantId}`, createdAt: now() });
  const admin = await addUser(tenantId, { role: "admin", username: "admin" });
  return { tenantId, admin };
}

export async function addUser(
  tenantId: string,
  options: { role?: Role; username?: string; password?: string } = {},
): Promise<TestUser> {
  const username = options.username ?? uniqueSlug("user");
  const password = options.password ?? `pw-${crypto.randomUUID()}`;
  const user = await createUser(
    db,
    tenantId,
    { username, email: `${username}@example.com`, password, role: options.role ?? "member" },
    config.passwordPepper,
  );
  return { user, username, password, tenantId };
}
