// Runs SQL against the D1 database through wrangler: the local one (`.wrangler/state`) or the remote one.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/** Runs one query and returns its rows. */
export function querySql<Row>(target: Target, sql: string): Row[] {
  const out = wrangler(["d1", "execute", "DB", ...targetArgs(target), "--command", sql, "--json"], {
    quiet: true,
  });
  const parsed = JSON.parse(out) as { results: Row[] }[];
  return parsed[0]?.results ?? [];
}

export function applyMigrations(target: Target): void {
  wrangler(["d1", "migrations", "apply", "DB", ...targetArgs(target)], { quiet: true });
}
