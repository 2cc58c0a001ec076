// Accounts: creating users, finding them, and paging through a tenant's users.
import { and, asc, eq, gt, inArray, isNotNull, isNull, type SQL } from "drizzle-orm";
import { now } from "../clock";
import type { Db } from "../db/client";
import { type Tenant, tenants, type User, users } from "../db/schema";
import { randomId } from "../encoding";
import { ApiError } from "../errors";
import { hashPassword } from "./password";
import { normalizeUsername } from "./usernames";

export type Role = "admin" | "member";

export interface NewUser {
  username: string;
  email: string;
  password: string;
  role: Role;
}

/** The row of a new user (the API, the UI and the operator CLI all write it from here). */
export async function newUserRow(tenantId: string, input: NewUser, pepper: Uint8Array) {
  return {
    id: randomId(),
    tenantId,
    // Stored as it is compared (NFKC): a fullwidth "ａｄｍｉｎ" is shown as the "admin" it stands for.
    username: input.username.trim().normalize("NFKC"),
    usernameKey: normalizeUsername(input.username),
    email: input.email,
    role: input.role,
    passwordHash: await hashPassword(input.password, pepper),
    createdAt: now(),
  } satisfies typeof users.$inferInsert;
}

export async function createUser(
  db: Db,
  tenantId: string,
  input: NewUser,
  pepper: Uint8Array,
): Promise<User> {
  const row = await newUserRow(tenantId, input, pepper);
  // The unique index decides: two concurrent creations of one name cannot both succeed.
  const [created] = await db.insert(users).values(row).onConflictDoNothing().returning();
  if (!created) throw new ApiError("username_taken");
  return created;
}

/** The tenant as it is now, its user counts included (not as the session read it). */
export async function findTenant(db: Db, tenantId: string): Promise<Tenant> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new ApiError("not_found");
  return tenant;
}

/** A user of the tenant by id; 404 for an id of another tenant or none. */
export async function findTenantUser(db: Db, tenantId: string, userId: string): Promise<User> {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.tenantId, tenantId)));
  if (!user) throw new ApiError("not_found");
  return user;
}

/** A tenant's user by the name they sign in with, and the tenant (for whoever knows no user ids). */
export async function findUserByName(db: Db, tenantId: string, username: string) {
  const [found] = await db
    .select({ user: users, tenant: tenants })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.tenantId, tenantId), eq(users.usernameKey, normalizeUsername(username))));
  return found ?? null;
}

/** The usernames of a tenant's users by id, for the ids that still name one (others are gone). */
export async function usernamesOf(db: Db, tenantId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: users.id, username: users.username })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), inArray(users.id, ids)));
  return new Map(rows.map((row) => [row.id, row.username]));
}

export interface UserPage {
  limit: number;
  /** The last username key of the previous page. */
  cursor?: string | null | undefined;
  mfa?: "enabled" | "disabled" | undefined;
  /** Only active users (true) or only deactivated ones (false); both when not given. */
  active?: boolean | undefined;
  /** A further condition on the users table. */
  where?: SQL | undefined;
}

/** One page of a tenant's users in username order (the indexes cover tenant, MFA state and name). */
export async function listUsers(
  db: Db,
  tenantId: string,
  page: UserPage,
): Promise<{ users: User[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(users)
    .where(
      and(
        eq(users.tenantId, tenantId),
        page.cursor ? gt(users.usernameKey, page.cursor) : undefined,
        page.mfa === "enabled" ? isNotNull(users.mfaEnabledAt) : undefined,
        page.mfa === "disabled" ? isNull(users.mfaEnabledAt) : undefined,
        page.active === true ? isNull(users.deactivatedAt) : undefined,
        page.active === false ? isNotNull(users.deactivatedAt) : undefined,
        page.where,
      ),
    )
    .orderBy(asc(users.usernameKey))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  return { users: pageRows, nextCursor: more ? (pageRows.at(-1)?.usernameKey ?? null) : null };
}
