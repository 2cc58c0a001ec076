// Deleting old rows a bounded chunk at a time (the daily cron): each statement stays short on the
// primary, and a backlog is worked off over the following days instead of in one long statement.
import { inArray, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

/** Rows per statement. */
const CHUNK = 5000;
/** Statements per run at most; what is left goes the next day. */
const MAX_CHUNKS = 100;

/** Deletes the rows of `table` matching `where` (an indexed condition), by their primary key `id`. */
export async function deleteInChunks(
  db: Db,
  table: SQLiteTable,
  id: SQLiteColumn,
  where: SQL,
): Promise<number> {
  let deleted = 0;
  for (let chunk = 0; chunk < MAX_CHUNKS; chunk++) {
    const batch = db.select({ id }).from(table).where(where).limit(CHUNK);
    const result = await db.delete(table).where(inArray(id, batch));
    const count = result.meta.changes ?? 0;
    deleted += count;
    if (count < CHUNK) break;
  }
  return deleted;
}
