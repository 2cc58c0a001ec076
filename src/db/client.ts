import { sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";

/** The drizzle client, with the key every audit event it writes is MACed with (src/audit/chain.ts). */
export type Db = DrizzleD1Database & { readonly auditKey: Uint8Array };

const opened = new WeakMap<D1Database, Db>();

/**
 * The drizzle client of a D1 binding, made once per binding (and audit key). No schema is passed:
 * nothing uses drizzle's relational queries, and with one drizzle builds their config on every
 * call, about a millisecond of CPU per request (measured by npm run profile).
 */
export function openDb(d1: D1Database, auditKey: Uint8Array): Db {
  const cached = opened.get(d1);
  if (cached?.auditKey === auditKey) return cached;
  const db = Object.assign(drizzle(d1), { auditKey });
  opened.set(d1, db);
  return db;
}

/** One round trip that proves the database answers (the health check). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.run(sql`select 1`);
}
