// Targets as ratios with pass or fail, and plain-text tables.
import { round } from "./load";

export interface Target {
  name: string;
  measured: string;
  limit: string;
  ratio: number | null;
  pass: boolean | null;
}

/** `value / reference` against `bound`: at most (latencies) or at least (throughputs). */
export function ratioTarget(
  name: string,
  ratio: number,
  bound: number,
  atMost: boolean,
  measured: string,
  reference: string,
): Target {
  return {
    name,
    measured,
    limit: `${atMost ? "≤" : "≥"} ${bound} × ${reference}`,
    ratio: Number.isFinite(ratio) ? round(ratio, 3) : null,
    pass: Number.isFinite(ratio) ? (atMost ? ratio <= bound : ratio >= bound) : null,
  };
}

export function countTarget(name: string, value: number | undefined, limit: number): Target {
  return {
    name,
    measured: value === undefined ? "not counted" : String(value),
    limit: `≤ ${limit}`,
    ratio: null,
    pass: value === undefined ? null : value <= limit,
  };
}

export function verdict(target: Target): string {
  return target.pass === null ? "n/a" : target.pass ? "PASS" : "FAIL";
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const line = (cells: (string | number)[]) =>
    cells
      .map((c, i) => (typeof c === "number" ? String(c).padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
