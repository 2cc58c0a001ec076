// The operator CLI: `npm run admin -- <command> [--local|--remote] ...`.
import { parseArgs } from "node:util";
import { applyMigrations, type Target } from "./d1";
import { readDevVars } from "./dev-vars";
import { createTenantWithAdmin, resetUserMfa } from "./operator";

const USAGE = `Usage:
  npm run admin -- create-tenant --local|--remote --tenant <slug> --name <name> --username <admin> --email <email>
      The admin's password is read from ADMIN_PASSWORD (8..128 characters).
  npm run admin -- reset-mfa --local|--remote --tenant <slug> --username <user>
      Break-glass: removes the user's MFA and ends their sessions.
  npm run admin -- migrate --local|--remote

--remote needs PASSWORD_PEPPER in the environment (the same value as the Worker's secret) to hash passwords;
--local reads it from .dev.vars.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    local: { type: "boolean" },
    remote: { type: "boolean" },
    tenant: { type: "string" },
    name: { type: "string" },
    username: { type: "string" },
    email: { type: "string" },
    help: { type: "boolean" },
  },
});

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function target(): Target {
  if (values.local === values.remote) fail("Say where: --local or --remote.");
  return values.local ? "--local" : "--remote";
}

function required(name: "tenant" | "name" | "username" | "email"): string {
  const value = values[name];
  if (!value) fail(`--${name} is required.`);
  return value;
}

function pepper(where: Target): Uint8Array {
  const value =
    where === "--local"
      ? (process.env.PASSWORD_PEPPER ?? readDevVars().PASSWORD_PEPPER)
      : process.env.PASSWORD_PEPPER;
  if (!value) fail("PASSWORD_PEPPER is not set.");
  return Uint8Array.from(Buffer.from(value, "base64"));
}

const [command] = positionals;
if (values.help || !command) {
  console.log(USAGE);
  process.exit(command ? 0 : 2);
}

switch (command) {
  case "create-tenant": {
    const where = target();
    const tenantId = required("tenant");
    if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(tenantId)) fail("The tenant id must be a slug like acme-eu.");
    const password = process.env.ADMIN_PASSWORD ?? "";
    if (password.length < 8 || password.length > 128) fail("ADMIN_PASSWORD must hold 8 to 128 characters.");
    await createTenantWithAdmin(where, {
      tenantId,
      name: required("name"),
      username: required("username"),
      email: required("email"),
      password,
      pepper: pepper(where),
    });
    console.log(`Created tenant ${tenantId} with admin ${values.username}.`);
    break;
  }
  case "reset-mfa": {
    const where = target();
    if (!resetUserMfa(where, required("tenant"), required("username"))) fail("No such user in that tenant.");
    console.log(`MFA removed for ${values.username}; their sessions have ended.`);
    break;
  }
  case "migrate":
    applyMigrations(target());
    console.log("Migrations applied.");
    break;
  default:
    fail(`Unknown command ${command}.`);
}
