// The local server the browser tests drive: `wrangler dev` on a free port, with its own state folder
// (.wrangler/e2e, gitignored, fresh each run), its own random secrets passed with --env-file (so a
// developer's .dev.vars is never read or touched), local migrations, and four seeded tenants with an admin each.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, startWranglerDev } from "../bench/lib/processes";
import { applyMigrations, type Target } from "./d1";
import { developmentVars, randomPassword, randomSecrets, writeVarsFile } from "./dev-vars";
import { createTenantWithAdmin } from "./operator";

const ROOT = join(import.meta.dirname, "..");
export const E2E_DIR = join(ROOT, ".wrangler", "e2e");

/** A tenant and its first admin, as the operator CLI would create them. */
export interface E2eTenant {
  tenantId: string;
  tenantName: string;
  adminUsername: string;
  adminPassword: string;
}

export interface E2eServer {
  baseUrl: string;
  /** The local D1 state the server runs on (for the operator CLI's --persist-to). */
  stateDir: string;
  /** The server's secrets (the operator CLI's AUDIT_SIGNING_KEY for verify-audit). */
  envFile: string;
  /** A tenant per kind of test, so one's enforcement never changes what the others see. */
  tenants: E2eTenant[];
  logFile: string;
  stop: () => Promise<void>;
}

export async function startE2eServer(): Promise<E2eServer> {
  rmSync(E2E_DIR, { recursive: true, force: true });
  const state = join(E2E_DIR, "state");
  mkdirSync(state, { recursive: true });
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;

  const secrets = { ...randomSecrets("e2e"), ...developmentVars(baseUrl) };
  const envFile = join(E2E_DIR, "secrets.env");
  writeVarsFile(envFile, secrets);

  const target: Target = { persistTo: state };
  applyMigrations(target);
  const tenants: E2eTenant[] = [
    { tenantId: "acme", tenantName: "Acme Corp" },
    { tenantId: "initech", tenantName: "Initech" },
    { tenantId: "globex", tenantName: "Globex" },
    { tenantId: "umbrella", tenantName: "Umbrella" },
  ].map((tenant) => ({
    ...tenant,
    adminUsername: "admin",
    adminPassword: randomPassword(),
  }));
  const pepper = Buffer.from(secrets.PASSWORD_PEPPER, "base64");
  for (const tenant of tenants) {
    await createTenantWithAdmin(target, {
      tenantId: tenant.tenantId,
      name: tenant.tenantName,
      username: tenant.adminUsername,
      email: `${tenant.adminUsername}@${tenant.tenantId}.example`,
      password: tenant.adminPassword,
      pepper,
      auditKey: Buffer.from(secrets.AUDIT_SIGNING_KEY, "base64"),
    });
  }

  const logFile = join(E2E_DIR, "wrangler.log");
  const server = await startWranglerDev(
    "e2e",
    // --test-scheduled: the tests run the daily cron through /__scheduled.
    ["--persist-to", state, "--env-file", envFile, "--test-scheduled"],
    "/api/v1/health",
    // Info: the tests read the emails the send_email binding logs (test/browser/helpers.ts).
    { port, logPath: logFile, timeoutMs: 120_000, logLevel: "info" },
  );
  return { baseUrl, stateDir: state, envFile, tenants, logFile, stop: server.stop };
}
