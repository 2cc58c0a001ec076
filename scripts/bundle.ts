// The Worker as `wrangler deploy` would upload it (minify = true in wrangler.toml), and its size.
// `npm run bundle` prints the figures and fails above BUNDLE_LIMIT_KIB gzipped: CI runs it, so the
// budget that keeps the Worker small (and the home-made router, src/api/router.ts) stays true.
// The bench reports the same figures (scripts/bench.ts).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { round } from "../bench/lib/load";
import { OUT, run } from "../bench/lib/processes";

export const BUNDLE_LIMIT_KIB = 150;

export interface BundleFigures {
  minifiedBytes: number;
  gzipBytes: number;
  gzipKiB: number;
  /** The largest contributors to the minified bundle, in KiB (from esbuild's metafile). */
  largest: { module: string; minifiedKiB: number }[];
}

export async function measureBundle(dist: string): Promise<BundleFigures> {
  rmSync(dist, { recursive: true, force: true });
  const meta = join(dist, "meta.json");
  // No --minify here: what is measured is what wrangler.toml makes wrangler deploy upload.
  await run("wrangler", ["deploy", "--dry-run", "--outdir", dist, "--metafile", meta]);
  const code = readFileSync(join(dist, "index.js"));
  const gzip = gzipSync(code, { level: 9 }).length;
  const metafile = JSON.parse(readFileSync(meta, "utf8")) as {
    outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  const byModule = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    byModule.set(moduleOf(file), (byModule.get(moduleOf(file)) ?? 0) + bytesInOutput);
  }
  const largest = [...byModule]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([module, bytes]) => ({ module, minifiedKiB: round(bytes / 1024, 1) }));
  return { minifiedBytes: code.length, gzipBytes: gzip, gzipKiB: round(gzip / 1024, 1), largest };
}

/** A package name (zod's locales apart: they are the largest single piece), or a folder of src/. */
function moduleOf(file: string): string {
  const at = file.lastIndexOf("node_modules/");
  if (at >= 0) {
    const parts = file.slice(at + "node_modules/".length).split("/");
    if (parts[0] === "zod" && parts[2] === "locales") return "zod (locales)";
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file);
  }
  const parts = file.split("/");
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : file;
}

if (import.meta.main) {
  const figures = await measureBundle(join(OUT, "bundle"));
  console.log(
    `Worker bundle: ${round(figures.minifiedBytes / 1024, 1)} KiB minified, ${figures.gzipKiB} KiB gzipped (limit ${BUNDLE_LIMIT_KIB} KiB)`,
  );
  for (const { module, minifiedKiB } of figures.largest)
    console.log(`  ${module}: ${minifiedKiB} KiB minified`);
  if (figures.gzipBytes > BUNDLE_LIMIT_KIB * 1024) {
    console.error(`The Worker is over its budget of ${BUNDLE_LIMIT_KIB} KiB gzipped.`);
    process.exit(1);
  }
}
