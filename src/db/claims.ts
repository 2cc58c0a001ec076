// Single-use claims inside one D1 batch. A batch runs as one transaction on one connection, so:
// - the claim is a conditional UPDATE (a TOTP step, a backup code, a pending secret);
// - the statement right after it reads SQLite's changes() to act only if that UPDATE changed a row,
//   and writes a row with a fresh id (an audit event or a session): the anchor;
// - every later statement is guarded by the anchor's existence.
// Two concurrent batches with the same code are serialised by D1; only one claim changes a row, and
// the loser's batch writes nothing at all.
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

export const claimSucceeded: SQL = sql`changes() = 1`;

/** The guard for statements after the anchor: the row with this fresh id exists. */
export function anchorExists(table: "audit_events" | "sessions", id: string): SQL {
  return sql`exists (select 1 from ${sql.identifier(table)} where id = ${id})`;
}

export type Statement = BatchItem<"sqlite">;

/**
 * Runs a claim and the statements it guards as one batch; true when the claim (the first statement)
 * changed a row, that is, when this request won.
 */
export async function runClaim(db: Db, claim: Statement, guarded: Statement[]): Promise<boolean> {
  const [claimed] = await db.batch([claim, ...guarded]);
  // D1 counts rows that triggers changed too (the tenant's counters), so "at least one": every claim
  // names a single row by its key.
  return changedRows(claimed) > 0;
}

/** The rows a write of a batch changed, from its result (D1 counts those its triggers changed too). */
export function changedRows(result: unknown): number {
  return (result as { meta?: { changes?: number } } | undefined)?.meta?.changes ?? 0;
}

/**
 * Inside insertWhen's condition: the value a row being inserted has for `key` (SQLite names the
 * columns of a VALUES list column1, column2…, in the table's column order), so that each of
 * several rows can be written on its own condition.
 */
export function insertedValue<T extends SQLiteTable>(table: T, key: keyof T["$inferInsert"] & string): SQL {
  const index = Object.keys(getTableColumns(table)).indexOf(key);
  if (index < 0) throw new Error(`no column ${key}`);
  return sql.raw(`column${index + 1}`);
}

/**
 * `insert into <table> select <row> where <condition>`: the row is written only when the condition
 * holds at that point of the batch. (drizzle cannot batch raw SQL with parameters, so this goes
 * through its insert builder, which lists every column in table order.)
 */
export function insertWhen<T extends SQLiteTable>(
  db: Db,
  table: T,
  rows: T["$inferInsert"][],
  condition: SQL,
) {
  const columns = Object.entries(getTableColumns(table));
  const tuples = rows.map(
    (row) =>
      sql`(${sql.join(
        columns.map(([key, column]) => {
          const value = (row as Record<string, unknown>)[key];
          return value === undefined || value === null ? sql`null` : sql`${column.mapToDriverValue(value)}`;
        }),
        sql`, `,
      )})`,
  );
  const names = sql.join(
    columns.map((_, i) => sql.raw(`column${i + 1}`)),
    sql`, `,
  );
  return db
    .insert(table)
    .select(sql`select ${names} from (values ${sql.join(tuples, sql`, `)}) where ${condition}`);
}
