import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof openDb>;

export function openDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** One round trip that proves the database answers (the health check). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.run(sql`select 1`);
}
