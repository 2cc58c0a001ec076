// The operator CLI: `npm run admin -- <command> [--local|--remote] ...`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { applyMigrations, type Target } from "./d1";
import { readDevVars } from "./dev-vars";
import { createTenantWithAdmin, InvalidInputError, resetMfaThroughWorker } from "./operator";
import { verifyAuditFromD1 } from "./verify-audit";

const USAGE = `Usage:
  npm run admin -- create-tenant --local|--remote --tenant <slug> --name <name> --username <admin> --email <email>
      The admin's password is read from ADMIN_PASSWORD (8..128 characters).
  npm run admin -- reset-mfa --local|--remote --tenant <slug> --username <user> [--url <origin>]
      Break-glass: removes the user's MFA, ends their sessions, clears their attempt counters and emails
      them, through the running Worker (--url; by default http://localhost:8787 for --local and the
      PUBLIC_ORIGIN of wrangler.toml for --remote), on a one-time grant written into D1.
  npm run admin -- verify-audit --local|--remote --tenant <slug>
      Checks the tenant's audit trail (MACs, chain links, signed checkpoints) straight from D1 and reports
      the first broken link; exits 1 when the trail does not verify. (The Worker's verify also checks the
      chain's head against its anchor, which lives outside D1.)
  npm run admin -- migrate --local|--remote

--remote needs PASSWORD_PEPPER and AUDIT_SIGNING_KEY in the environment (the Worker's values), to hash
passwords and to sign or check audit events; --local reads them from .dev.vars. --persist-to <dir> works on a local database kept in another folder.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    local: { type: "boolean" },
    remote: { type: "boolean" },
    tenant: { type: "string" },
    name: { type: "string" },
    username: { type: "string" },
    email: { type: "string" },
    url: { type: "string" },
    "persist-to": { type: "string" },
    help: { type: "boolean" },
  },
});

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function target(): Target {
  if (values.local === values.remote) fail("Say where: --local or --remote.");
  if (values.remote) return "--remote";
  return values["persist-to"] ? { persistTo: values["persist-to"] } : "--local";
}

/** Where the Worker answers: --url, or local development's, or the deployed PUBLIC_ORIGIN. */
function workerUrl(where: Target): string {
  if (values.url) {
    // The grant's token travels in the request: never in clear text to a Worker that is not local.
    const url = new URL(values.url);
    const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (url.protocol !== "https:" && !local) fail("--url must be https (or a local address).");
    return values.url;
  }
  if (where !== "--remote") return "http://localhost:8787";
  const origin = readFileSync(join(import.meta.dirname, "..", "wrangler.toml"), "utf8").match(
    /^PUBLIC_ORIGIN\s*=\s*"([^"]+)"/m,
  )?.[1];
  if (!origin) fail("PUBLIC_ORIGIN is not set in wrangler.toml: pass --url https://your-origin.");
  return origin;
}

function required(name: "tenant" | "name" | "username" | "email"): string {
  const value = values[name];
  if (!value) fail(`--${name} is required.`);
  return value;
}

/** One of the Worker's secrets: from the environment, or for a local database from .dev.vars. */
function secret(where: Target, name: "PASSWORD_PEPPER" | "AUDIT_SIGNING_KEY"): Uint8Array {
  const value = where === "--remote" ? process.env[name] : (process.env[name] ?? readDevVars()[name]);
  if (!value) fail(`${name} is not set.`);
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
    await createTenantWithAdmin(where, {
      tenantId,
      name: required("name"),
      username: required("username"),
      email: required("email"),
      password: process.env.ADMIN_PASSWORD ?? "",
      pepper: secret(where, "PASSWORD_PEPPER"),
      auditKey: secret(where, "AUDIT_SIGNING_KEY"),
    }).catch((error: Error) => {
      if (!(error instanceof InvalidInputError)) throw error;
      fail(
        `Not created; fix these first (ADMIN_PASSWORD is the password):\n  ${error.problems.join("\n  ")}`,
      );
    });
    console.log(`Created tenant ${tenantId} with admin ${values.username}.`);
    break;
  }
  case "reset-mfa": {
    const where = target();
    const url = workerUrl(where);
    const { status, body } = await resetMfaThroughWorker(
      where,
      url,
      required("tenant"),
      required("username"),
    ).catch((error: Error) =>
      fail(`${error.message}. Is the Worker running there (npm run dev for --local)?`),
    );
    if (status === 404) fail("No such user in that tenant.");
    if (status !== 200) fail(`The Worker refused the reset (${status}): ${JSON.stringify(body)}`);
    console.log(
      `MFA removed for ${values.username}: their sessions have ended, their attempt counters are cleared and they have been emailed.`,
    );
    break;
  }
  case "verify-audit": {
    const where = target();
    const tenantId = required("tenant");
    const result = await verifyAuditFromD1(where, tenantId, secret(where, "AUDIT_SIGNING_KEY"));
    const checkpoint = result.lastCheckpoint
      ? `last checkpoint at event ${result.lastCheckpoint.seq} (${result.lastCheckpoint.kind}, ${new Date(result.lastCheckpoint.at).toISOString()})`
      : "no checkpoint yet";
    const broken = result.firstBroken;
    if (broken) {
      console.error(
        `Audit trail of ${tenantId} is BROKEN at ${broken.id ? `event ${broken.id}` : "a checkpoint"} (seq ${broken.seq ?? "none"}): ${broken.reason}. ${result.checked} event(s) verified before it; ${checkpoint}.`,
      );
      process.exitCode = 1;
    } else {
      console.log(
        `Audit trail of ${tenantId} verifies: ${result.checked} event(s) checked, ${result.pending} not sealed yet; ${checkpoint}.`,
      );
    }
    break;
  }
  case "migrate":
    applyMigrations(target());
    console.log("Migrations applied.");
    break;
  default:
    fail(`Unknown command ${command}.`);
}
