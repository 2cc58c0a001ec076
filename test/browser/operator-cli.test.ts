// The operator CLI's break-glass reset (`npm run admin -- reset-mfa`), run as an operator runs it,
// against the local server: it must be the admin's reset, counters, email and all.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Authenticator,
  api,
  apiToken,
  baseUrl,
  createUserByApi,
  type E2eUser,
  enrollByApi,
  sentEmails,
  tenant,
  tenantAdmin,
  waitForEmail,
} from "./helpers";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");

function adminCli(...args: string[]) {
  return run(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "scripts", "admin.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
}

let carol: E2eUser;
let authenticator: Authenticator;

beforeAll(async () => {
  const initech = tenant("initech");
  const adminToken = await apiToken(tenantAdmin("initech"));
  carol = await createUserByApi(adminToken, initech.tenantId, "carol");
  authenticator = await enrollByApi(carol);
});

describe("npm run admin -- reset-mfa", () => {
  it("resets through the Worker: the locked-out user signs in at once, and is emailed", async () => {
    const body = { username: carol.username, password: carol.password, tenant_id: carol.tenantId };
    for (let i = 0; i < 5; i++)
      await api("/auth/login", { method: "POST", body: { ...body, mfa_code: "000000" } });
    const locked = await api("/auth/login", {
      method: "POST",
      body: { ...body, mfa_code: await authenticator.code() },
    });
    expect(locked.status).toBe(429);

    const emailsBefore = sentEmails().length;
    const { stdout } = await adminCli(
      "reset-mfa",
      "--local",
      "--persist-to",
      inject("stateDir"),
      "--url",
      baseUrl(),
      "--tenant",
      carol.tenantId,
      "--username",
      carol.username,
    );
    expect(stdout).toContain("MFA removed for carol");

    const after = await api("/auth/login", { method: "POST", body });
    expect(after.status).toBe(200);
    expect(after.json.mfa_required).toBeUndefined();
    expect(after.json.user.mfa_enabled).toBe(false);
    const email = await waitForEmail(
      `${carol.username}@${carol.tenantId}.example`,
      /reset two-factor/,
      emailsBefore,
    );
    expect(email.text).toContain("removed two-factor authentication");
  });

  it("names an unknown user instead of pretending, and exits with an error", async () => {
    const failed = await adminCli(
      "reset-mfa",
      "--local",
      "--persist-to",
      inject("stateDir"),
      "--url",
      baseUrl(),
      "--tenant",
      carol.tenantId,
      "--username",
      "nobody-at-all",
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain("No such user in that tenant.");
  });
});

describe("npm run admin -- create-tenant", () => {
  it("refuses what the API would refuse, and writes nothing", async () => {
    const state = mkdtempSync(join(tmpdir(), "edge-mfa-cli-"));
    const failed = await run(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [
        join(ROOT, "scripts", "admin.ts"),
        "create-tenant",
        "--local",
        "--persist-to",
        state,
        "--tenant",
        "acme-two",
        "--name",
        "Acme\r\nBcc: everyone@elsewhere.example",
        "--username",
        "adm\u202eni",
        "--email",
        "not-an-email",
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ADMIN_PASSWORD: "a long enough password",
          PASSWORD_PEPPER: "cGVwcGVy",
          AUDIT_SIGNING_KEY: "a2V5",
        },
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    const { stderr } = failed as { stderr: string };
    expect(stderr).toContain("name: must be one line of text");
    expect(stderr).toContain("username: may hold letters, digits");
    expect(stderr).toContain("email:");
    expect(readdirSync(state)).toEqual([]);
  });
});
