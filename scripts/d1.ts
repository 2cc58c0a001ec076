// Runs SQL against the D1 database through wrangler: the local one (`.wrangler/state`) or the remote one.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/** The remote database, the local one in `.wrangler/state`, or a local one kept in another folder. */
export type Target = "--local" | "--remote" | { persistTo: string };

function targetArgs(target: Target): string[] {
  return typeof target === "string" ? [target] : ["--local", "--persist-to", target.persistTo];
}

const WRANGLER = join(import.meta.dirname, "..", "node_modules", ".bin", "wrangler");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

export function wrangler(args: string[], options: { quiet?: boolean } = {}): string {
  return execFileSync(WRANGLER, args, {
    env,
    encoding: "utf8",
    stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "inherit"],
  });
}

/** Quotes a value for SQLite. Every value we write comes through here or is a number we made. */
export function sqlText(value: string | null): string {
  return value === null ? "NULL" : `'${value.replace(/'/g, "''")}'`;
}

/** An INSERT of one row of a drizzle table, its columns named as the schema names them. */
export function insertSql<T extends SQLiteTable>(table: T, row: T["$inferInsert"]): string {
  const columns = Object.entries(getTableColumns(table)).filter(
    ([key]) => (row as Record<string, unknown>)[key] !== undefined,
  );
  const values = columns.map(([key]) => {
    const value = (row as Record<string, unknown>)[key];
    if (value === null) return "NULL";
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    if (typeof value === "boolean") return value ? "1" : "0";
    if (typeof value === "object") return sqlText(JSON.stringify(value)); // a JSON column
    return sqlText(String(value));
  });
  const names = columns.map(([, column]) => `"${column.name}"`).join(", ");
  return `INSERT INTO "${getTableName(table)}" (${names}) VALUES (${values.join(", ")})`;
}

/** Runs statements as one file, so D1 applies them together. */
export function executeSql(target: Target, statements: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "edge-mfa-"));
  const file = join(dir, "statements.sql");
  try {
    writeFileSync(file, `${statements.join(";\n")};\n`);
    wrangler(["d1", "execute", "DB", ...targetArgs(target), "--file", file, "--yes"], { quiet: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function applyMigrations(target: Target): void {
  wrangler(["d1", "migrations", "apply", "DB", ...targetArgs(target)], { quiet: true });
}

/** The rows one SELECT returns, read through `wrangler d1 execute --json`. */
export function querySql<T>(target: Target, statement: string): T[] {
  const out = wrangler(
    ["d1", "execute", "DB", ...targetArgs(target), "--command", statement, "--json", "--yes"],
    {
      quiet: true,
    },
  );
  const [result] = JSON.parse(out) as { results: T[] }[];
  return result?.results ?? [];
}
