// Compliance evidence in a real browser: the daily cron records coverage (the chart on MFA Status),
// the admin verifies the audit trail on Settings → Compliance and downloads both exports, and the
// operator CLI's verify-audit agrees with the Worker about the same trail.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readVarsFile } from "../../scripts/dev-vars";
import {
  apiToken,
  baseUrl,
  createUserByApi,
  type E2eUser,
  enrollByApi,
  launchBrowser,
  Person,
  tenant,
  tenantAdmin,
  visibleText,
} from "./helpers";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");

let browser: Browser;
let admin: Person;
let umbrellaAdmin: E2eUser;

beforeAll(async () => {
  browser = await launchBrowser();
  const umbrella = tenant("umbrella");
  umbrellaAdmin = tenantAdmin("umbrella");
  const token = await apiToken(umbrellaAdmin);
  await enrollByApi(await createUserByApi(token, umbrella.tenantId, "wesker"));
  await createUserByApi(token, umbrella.tenantId, "jill");
  // The daily cron, as Cron Triggers would run it: it records today's coverage.
  const cron = await fetch(`${baseUrl()}/__scheduled?cron=${encodeURIComponent("0 8 * * *")}`);
  expect(cron.status).toBe(200);
  admin = await Person.open(browser);
  await admin.signIn(umbrellaAdmin);
  await admin.page.waitForURL("**/ui/profile");
});

afterAll(async () => {
  await admin?.close();
  await browser?.close();
});

describe("compliance evidence", () => {
  it("shows coverage over time beside today's progress on MFA Status", async () => {
    const { page } = admin;
    await page.goto("/ui/settings/security/mfa-status");
    const chart = page.getByRole("img", {
      name: /MFA coverage from .* 1 of 3 users with MFA on the last day/,
    });
    await chart.waitFor();
    await admin.screenshot("mfa-status-chart");
  });

  it("maps the frameworks to live evidence and verifies the audit trail", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Compliance" }).click();
    await page.waitForURL("**/ui/settings/compliance");
    const controls = await visibleText(page.locator(".evidence-table"));
    expect(controls).toMatch(/NIST 800-53[\s\S]*IA-2\(1\), IA-2\(2\)[\s\S]*0 of 1 admins/);
    expect(controls).toContain("CMMC");
    await page.getByRole("button", { name: "Verify now" }).click();
    await page.getByText(/Intact: \d+ events checked/).waitFor();
    // The controls that cite the verification show it too.
    await page.getByText(/Audit trail verified intact/).waitFor();
    await admin.screenshot("compliance");
  });

  it("downloads the enrollment report and the audit trail", async () => {
    const { page } = admin;
    const [report] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    expect(report.suggestedFilename()).toBe("users-umbrella.csv");
    const csv = readFileSync(await report.path(), "utf8").split("\r\n");
    expect(csv[0]).toBe(
      "id,username,email,role,active,mfa_enabled,factors,passkeys,enrolled_at,enforcement,grace_deadline,last_sign_in_at,created_at",
    );
    expect(csv.find((line) => line.includes(",wesker,"))).toMatch(/,member,true,true,totp,0,/);
    expect(csv.find((line) => line.includes(",jill,"))).toMatch(/,member,true,false,,0,/);

    await page.getByLabel("Format").selectOption("jsonl");
    const [trail] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download audit trail" }).click(),
    ]);
    expect(trail.suggestedFilename()).toBe("audit-umbrella.jsonl");
    const events = readFileSync(await trail.path(), "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(["tenant.created", "user.created", "mfa.enabled"]),
    );
    // Sealed before it was exported: each event has its place in the chain.
    expect(events.every((e) => Number.isInteger(e.seq) && typeof e.chain === "string")).toBe(true);
  });

  it("the operator CLI verifies the same trail straight from D1", async () => {
    const { AUDIT_SIGNING_KEY } = readVarsFile(inject("envFile"));
    const { stdout } = await run(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [
        join(ROOT, "scripts", "admin.ts"),
        "verify-audit",
        "--local",
        "--persist-to",
        inject("stateDir"),
        "--tenant",
        "umbrella",
      ],
      { cwd: ROOT, env: { ...process.env, AUDIT_SIGNING_KEY, WRANGLER_SEND_METRICS: "false" } },
    );
    expect(stdout).toMatch(/Audit trail of umbrella verifies: [1-9]\d* event\(s\) checked/);
    expect(stdout).toMatch(/last checkpoint at event \d+ \(daily/);
  });
});
