// `npm run deploy`: refuses to deploy a configuration that could not serve (the placeholder D1 id,
// a local or example origin or sender: scripts/deploy-checks.ts), then runs `wrangler deploy`
// with the arguments given (`npm run deploy -- --dry-run` checks without uploading).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkDeployConfig } from "./deploy-checks";

const ROOT = join(import.meta.dirname, "..");
const problems = checkDeployConfig(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
if (problems.length > 0) {
  console.error(`Not deploying; wrangler.toml is not ready:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
const wrangler = join(ROOT, "node_modules", ".bin", "wrangler");
const result = spawnSync(wrangler, ["deploy", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
process.exit(result.status ?? 1);
