// `npm run dev`: secrets, local migrations and the demo tenant, then wrangler dev (extra args pass through).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { applyMigrations } from "./d1";
import { ensureDevVars } from "./dev-vars";
import { createTenantWithAdmin } from "./operator";

const args = process.argv.slice(2);
const { created, vars } = ensureDevVars();
if (created) console.log("Created .dev.vars with random development secrets.");

applyMigrations("--local");
const password = vars.DEMO_ADMIN_PASSWORD;
const pepper = vars.PASSWORD_PEPPER;
if (!password || !pepper) {
  console.error(".dev.vars lacks DEMO_ADMIN_PASSWORD or PASSWORD_PEPPER; delete it to have it made again.");
  process.exit(1);
}
// Upsert: a second run keeps every tenant and user, and the demo admin's password follows .dev.vars.
await createTenantWithAdmin("--local", {
  tenantId: "demo",
  name: "Demo",
  username: "admin",
  email: "admin@demo.example",
  password,
  pepper: Uint8Array.from(Buffer.from(pepper, "base64")),
  auditKey: Uint8Array.from(Buffer.from(vars.AUDIT_SIGNING_KEY ?? "", "base64")),
  upsert: true,
});

const portIndex = args.indexOf("--port");
const port =
  portIndex >= 0 ? args[portIndex + 1] : (args.find((a) => a.startsWith("--port="))?.slice(7) ?? "8787");
console.log(`
  Sign in at http://localhost:${port}/ as tenant "demo", user "admin", password "${password}"
  (the DEMO_ADMIN_PASSWORD line of .dev.vars), or with the API:
    curl -s http://localhost:${port}/api/v1/auth/login -H 'content-type: application/json' \\
      -d '{"tenant_id":"demo","username":"admin","password":"${password}"}'
`);

// Links in emails and the Origin check follow the port the server really listens on.
const originVar = ["--var", `PUBLIC_ORIGIN:http://localhost:${port}`];
const wranglerBin = join(import.meta.dirname, "..", "node_modules", ".bin", "wrangler");
const child = spawn(wranglerBin, ["dev", ...originVar, ...args], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
child.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
