// What the bench needs in its own local D1: tenants and users. Bulk rows are SQL made with the
// project's own functions (password hashing, username normalisation, ids) and applied with
// `wrangler d1 execute --local --file`; users that sign in with MFA are created and enrolled through
// the Worker's HTTP API, computing their TOTP codes here from the secret the setup returned.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateHotp, totpStep } from "../../src/auth/totp";
import { normalizeUsername } from "../../src/auth/usernames";
import { decodeBase32, randomId } from "../../src/encoding";
import { OUT, run } from "./processes";

// D1 refuses a statement over 100 KB; a user row is about 250 bytes.
const ROWS_PER_INSERT = 200;
const ROWS_PER_FILE = 25_000;

function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export interface BulkTenant {
  id: string;
  /** Users in all, the admin included. */
  users: number;
  usernamePrefix: string;
}

/**
 * SQL files for tenants and their users (each tenant's first user is its admin, named "admin"). One
 * password hash serves every bulk user: what is measured never depends on which hash a user has.
 */
export function writeBulkSql(tenants: BulkTenant[], passwordHash: string): string[] {
  const dir = join(OUT, "seed");
  mkdirSync(dir, { recursive: true });
  const at = Date.now();
  const statements: string[] = tenants.map(
    (t) =>
      `INSERT INTO tenants (id, name, created_at) VALUES (${sqlText(t.id)}, ${sqlText(`Bench ${t.id}`)}, ${at})`,
  );
  const rows: string[] = [];
  for (const tenant of tenants) {
    for (let i = 0; i < tenant.users; i++) {
      const username = i === 0 ? "admin" : `${tenant.usernamePrefix}${String(i).padStart(6, "0")}`;
      const role = i === 0 ? "admin" : "member";
      rows.push(
        `(${sqlText(randomId())}, ${sqlText(tenant.id)}, ${sqlText(username)}, ${sqlText(normalizeUsername(username))}, ${sqlText(`${username}@${tenant.id}.example`)}, '${role}', ${sqlText(passwordHash)}, ${at})`,
      );
    }
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    statements.push(
      `INSERT INTO users (id, tenant_id, username, username_key, email, role, password_hash, created_at) VALUES\n${rows
        .slice(i, i + ROWS_PER_INSERT)
        .join(",\n")}`,
    );
  }
  const files: string[] = [];
  const perFile = Math.ceil(ROWS_PER_FILE / ROWS_PER_INSERT);
  for (let i = 0; i < statements.length; i += perFile) {
    const file = join(dir, `seed-${String(files.length).padStart(3, "0")}.sql`);
    writeFileSync(file, `${statements.slice(i, i + perFile).join(";\n")};\n`);
    files.push(file);
  }
  return files;
}

export async function applySql(config: string, persistTo: string, files: string[]): Promise<void> {
  for (const file of files) {
    await run("wrangler", [
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      persistTo,
      "-c",
      config,
      "--file",
      file,
      "--yes",
    ]);
  }
}

// ---- through the HTTP API -------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: the API's answers are read as plain JSON
async function api(url: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export interface Credentials {
  tenantId: string;
  username: string;
  password: string;
}

export async function signIn(url: string, who: Credentials): Promise<string> {
  const answer = await api(url, "POST", "/api/v1/auth/login", {
    tenant_id: who.tenantId,
    username: who.username,
    password: who.password,
  });
  if (typeof answer?.token !== "string") throw new Error(`no session for ${who.username}`);
  return answer.token;
}

/** Creates a member through the admin API (POST /tenants/{id}/users). */
export async function createMember(url: string, adminToken: string, who: Credentials): Promise<void> {
  await api(
    url,
    "POST",
    `/api/v1/tenants/${who.tenantId}/users`,
    { username: who.username, email: `${who.username}@${who.tenantId}.example`, password: who.password },
    adminToken,
  );
}

export interface EnrolledUser extends Credentials {
  secret: Uint8Array;
  /** The TOTP step the Worker last accepted for this user: the next code must be for a later one. */
  lastStep: number;
}

export function codeFor(secret: Uint8Array, step: number): Promise<string> {
  return generateHotp(secret, step);
}

/**
 * Signs in, sets up MFA and verifies it with the code of the previous step (verify accepts any step
 * in the window of a secret never used), so the current and next steps stay free for logins.
 */
export async function enrollMfa(url: string, who: Credentials): Promise<EnrolledUser> {
  const token = await signIn(url, who);
  const setup = await api(url, "POST", "/api/v1/mfa/setup", undefined, token);
  const secret = decodeBase32(setup.secret);
  for (const offset of [-1, 0]) {
    const step = totpStep(Date.now()) + offset;
    try {
      await api(url, "POST", "/api/v1/mfa/verify", { code: await codeFor(secret, step) }, token);
      return { ...who, secret, lastStep: step };
    } catch (error) {
      // The step may have turned between computing and checking; the current one will do.
      if (offset === 0) throw error;
    }
  }
  throw new Error("unreachable");
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
}
