// Sign-in: one password hash, one read, the attempt counters, one write.
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type Tenant, tenants, type User, users } from "../db/schema";
import type { Config } from "../env";
import { ApiError } from "../errors";
import { assertAllowed, recordLoginAttempt } from "../limiter/limits";
import { DUMMY_PASSWORD_HASH, InvalidPasswordHashError, verifyPasswordHash } from "./password";
import { insertSession, prepareSession } from "./sessions";
import { normalizeUsername } from "./users";

export interface LoginInput {
  tenantId: string;
  username: string;
  password: string;
  mfaCode?: string | undefined;
}

export interface LoginContext {
  env: Env;
  db: Db;
  config: Config;
  ip: string;
}

export type LoginResult =
  | { kind: "session"; token: string; expiresAt: number; user: User }
  | { kind: "mfa_required"; user: User };

export async function signIn(ctx: LoginContext, input: LoginInput): Promise<LoginResult> {
  const usernameKey = normalizeUsername(input.username);
  const account = await findAccount(ctx.db, input.tenantId, usernameKey);
  const passwordOk = await checkPassword(
    input.password,
    account?.user.passwordHash,
    ctx.config.passwordPepper,
  );
  const user = passwordOk ? account?.user : undefined;

  const mfaPending = user?.mfaEnabledAt != null;
  const verdict = await recordLoginAttempt(ctx.env, {
    tenantId: input.tenantId,
    usernameKey,
    ip: ctx.ip,
    passwordOk: user !== undefined,
    mfa: "checked",
    completed: user !== undefined && !mfaPending,
  });
  assertAllowed(verdict);
  if (!user) throw new ApiError("invalid_credentials");
  if (mfaPending) return { kind: "mfa_required", user };

  const session = await prepareSession("session", user, ctx.config.sessionSigningKey);
  await insertSession(ctx.db, session);
  return { kind: "session", token: session.token, expiresAt: session.expiresAt, user };
}

async function findAccount(
  db: Db,
  tenantId: string,
  usernameKey: string,
): Promise<{ user: User; tenant: Tenant } | undefined> {
  const [row] = await db
    .select({ user: users, tenant: tenants })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.tenantId, tenantId), eq(users.usernameKey, usernameKey)))
    .limit(1);
  return row;
}

/**
 * Verifies the password against the user's hash, or against a dummy hash when there is no such user,
 * so unknown users and tenants cost the same time as a wrong password.
 */
async function checkPassword(
  password: string,
  stored: string | undefined,
  pepper: Uint8Array,
): Promise<boolean> {
  try {
    const ok = await verifyPasswordHash(password, stored ?? DUMMY_PASSWORD_HASH, pepper);
    return ok && stored !== undefined;
  } catch (error) {
    if (!(error instanceof InvalidPasswordHashError)) throw error;
    // A stored hash we refuse to use: nobody signs in with it. Spend the same time anyway.
    console.error("refused a stored password hash:", error.message);
    await verifyPasswordHash(password, DUMMY_PASSWORD_HASH, pepper);
    return false;
  }
}
