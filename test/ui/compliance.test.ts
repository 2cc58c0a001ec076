// Settings → Compliance and the coverage chart on MFA Status: the frameworks with their live
// evidence, verifying the audit trail in place, and the export links.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sealTenant } from "../../src/audit/seal";
import { auditEvents } from "../../src/db/schema";
import worker from "../../src/index";
import { addUser, createTenant, db, trail } from "../helpers/factory";
import { enrollMfa } from "../helpers/totp";
import { signInUi, textOf } from "./helpers";

function runDailyCron() {
  return worker.scheduled(createScheduledController({ cron: "0 8 * * *" }), env, createExecutionContext());
}

describe("the Compliance page", () => {
  it("maps each framework's control to the evidence: admins enrolled, enforcement since, coverage", async () => {
    const { tenantId, admin } = await createTenant();
    await enrollMfa(await addUser(tenantId, { username: "carol" }));
    await addUser(tenantId, { username: "dave" });
    const client = await signInUi(admin);
    await client.post("/ui/settings/security", { mfa_required: "on", mfa_grace_period_days: "7" });
    const page = await client.get("/ui/settings/compliance", { htmx: false });
    expect(page.status).toBe(200);
    for (const control of ["IA-2(1), IA-2(2)", "CC6.1", "6.3, 6.4", "8.3", "IA.L2-3.5.3"]) {
      expect(page.html).toContain(`data-control="${control}"`);
    }
    expect(page.html).toContain("0 of 1 admins (privileged accounts) have MFA.");
    expect(page.html).toContain("1 of 3 active users have MFA (33%).");
    expect(page.html).toMatch(/MFA required since <time datetime="[^"]+"/);
    expect(page.html).toContain("Gap");
    expect(page.html).toContain('aria-current="page">Compliance');
    expect(page.html).toContain(`href="/api/v1/tenants/${tenantId}/users/export?format=csv"`);
  });

  it("verifies the audit trail in place, and shows a trail tampered with as broken", async () => {
    const { tenantId, admin } = await createTenant();
    const client = await signInUi(admin);
    await client.post("/ui/settings/security", { mfa_required: "on", mfa_grace_period_days: "7" });
    const before = await client.get("/ui/settings/compliance", { htmx: false });
    expect(before.html).toContain('data-verification="none"');
    const verify = await client.post("/ui/settings/compliance/verify");
    expect(verify.redirect).toBe("/ui/settings/compliance");
    const verified = await client.get("/ui/settings/compliance", { htmx: false });
    expect(verified.html).toContain('data-verification="ok"');
    expect(verified.html).toMatch(/Intact: \d+ events checked/);
    expect(verified.html).toMatch(/Audit trail verified intact at <time/);

    await sealTenant(trail, tenantId);
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.tenantId, tenantId)).limit(1);
    await db
      .update(auditEvents)
      .set({ ip: "203.0.113.66" })
      .where(eq(auditEvents.id, event?.id ?? ""));
    await client.post("/ui/settings/compliance/verify");
    const broken = await client.get("/ui/settings/compliance", { htmx: false });
    expect(broken.html).toContain('data-verification="broken"');
    expect(textOf(broken.html, "integrity")).toContain(`Broken at event ${event?.id} (altered)`);
  });

  it("sends the audit export form to the API's download, dates only when given", async () => {
    const { tenantId, admin } = await createTenant();
    const client = await signInUi(admin);
    const plain = await client.get("/ui/settings/compliance/audit-export?format=csv&from=&to=", {
      htmx: false,
    });
    expect(plain.redirect).toBe(`/api/v1/tenants/${tenantId}/audit-events/export?format=csv`);
    const ranged = await client.get(
      "/ui/settings/compliance/audit-export?format=jsonl&from=2026-11-01&to=2026-12-01",
      {
        htmx: false,
      },
    );
    expect(ranged.redirect).toBe(
      `/api/v1/tenants/${tenantId}/audit-events/export?format=jsonl&from=2026-11-01&to=2026-12-01`,
    );
  });

  it("is for admins only", async () => {
    const { tenantId } = await createTenant();
    const member = await signInUi(await addUser(tenantId));
    expect((await member.get("/ui/settings/compliance", { htmx: false })).status).toBe(403);
    expect((await member.post("/ui/settings/compliance/verify")).status).toBe(403);
  });
});

describe("the coverage chart on MFA Status", () => {
  it("draws the recorded days as an SVG with the figures as a table", async () => {
    const { tenantId, admin } = await createTenant();
    await enrollMfa(await addUser(tenantId, { username: "erin" }));
    await runDailyCron();
    const client = await signInUi(admin);
    const page = await client.get("/ui/settings/security/mfa-status", { htmx: false });
    expect(page.html).toMatch(
      /<svg viewBox="0 0 600 160" role="img" aria-label="MFA coverage from [\d-]+ to [\d-]+: 1 of 2 users with MFA on the last day."/,
    );
    expect(page.html).toContain('data-coverage-days="1"');
    expect(page.html).toMatch(/<td>2<\/td><td>1<\/td><td>0<\/td><td>0<\/td>/);
  });

  it("says there is no history before the cron has run", async () => {
    const { admin } = await createTenant();
    const client = await signInUi(admin);
    const page = await client.get("/ui/settings/security/mfa-status", { htmx: false });
    expect(page.html).toContain("No history yet");
  });
});
