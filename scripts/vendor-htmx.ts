// Copies htmx from the npm package (the version package.json pins) into public/vendor/, where the
// pages load it from our own origin: no CDN. `--check` only verifies the copy matches the package.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const source = join(root, "node_modules", "htmx.org", "dist", "htmx.min.js");
const target = join(root, "public", "vendor", "htmx.min.js");
const { version } = JSON.parse(readFileSync(join(root, "node_modules", "htmx.org", "package.json"), "utf8"));

const wanted = readFileSync(source);
if (process.argv.includes("--check")) {
  let vendored: Buffer | null = null;
  try {
    vendored = readFileSync(target);
  } catch {
    // missing: reported below
  }
  if (!vendored?.equals(wanted)) {
    console.error(`public/vendor/htmx.min.js differs from htmx.org ${version}; run npm run vendor`);
    process.exit(1);
  }
  console.log(`public/vendor/htmx.min.js is htmx.org ${version}`);
} else {
  writeFileSync(target, wanted);
  console.log(`Vendored htmx.org ${version} into public/vendor/htmx.min.js`);
}
