// The admin exports: the audit trail and the enrollment report, CSV and JSON Lines, streamed in
// keyset pages (src/admin/exports.ts, src/api/exports.ts). Tenants here span several pages.
import { asc, eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { EXPORT_PAGE, userReportPages } from "../../src/admin/exports";
import { insertAudit } from "../../src/auth/audit";
import { advanceClock, now, resetClock } from "../../src/clock";
import { auditEvents, tenants, users } from "../../src/db/schema";
import { addUser, createTenant, db } from "../helpers/factory";
import { call, expectError, sessionToken } from "../helpers/http";
import { enrollMfa } from "../helpers/totp";

afterEach(() => resetClock());

const HOUR = 60 * 60 * 1000;

/** Writes `count` events through the real write path, in batches. */
async function writeEvents(tenantId: string, count: number, details: (i: number) => Record<string, unknown>) {
  for (let start = 0; start < count; start += 200) {
    const statements = Array.from({ length: Math.min(200, count - start) }, (_, k) =>
      insertAudit(db, {
        tenantId,
        action: "settings.updated",
        actorId: null,
        targetId: null,
        ip: "192.0.2.9",
        details: details(start + k),
      }),
    );
    await db.batch(statements as [(typeof statements)[0], ...typeof statements]);
  }
}

/** `count` more users, written in one statement (their password hash is never used here). */
async function manyUsers(tenantId: string, count: number) {
  await db.run(sql`
    with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
    insert into users (id, tenant_id, username, username_key, email, role, password_hash, created_at)
    select 'bulk-' || ${tenantId} || '-' || i, ${tenantId}, 'bulk' || printf('%05d', i), 'bulk' || printf('%05d', i),
      'bulk' || i || '@example.com', 'member', 'unused', ${now()}
    from n`);
}

function parseCsv(text: string): string[][] {
  // Enough of RFC 4180 for these files: quoted fields with "" and commas, CRLF rows.
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

describe("audit trail export", () => {
  it("streams every event, oldest first, in JSON Lines and CSV alike, across several pages", async () => {
    const { tenantId, admin } = await createTenant();
    const count = EXPORT_PAGE * 2 + 37;
    await writeEvents(tenantId, count, (i) => ({ step: i }));
    const token = await sessionToken(admin);
    const jsonl = await call("GET", `/api/v1/tenants/${tenantId}/audit-events/export?format=jsonl`, {
      token,
    });
    // Read after the export, which sealed them first: every event carries its seq.
    const stored = await db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.tenantId, tenantId))
      .orderBy(asc(auditEvents.at), asc(auditEvents.id));
    expect(stored.length).toBe(count);
    expect(stored.every((e) => e.seq !== null)).toBe(true);
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(jsonl.headers.get("content-disposition")).toBe(`attachment; filename="audit-${tenantId}.jsonl"`);
    const lines = jsonl.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const firstDiff = lines.findIndex((e, i) => e.id !== stored[i]?.id);
    if (firstDiff >= 0)
      console.log(
        "DIFF",
        firstDiff,
        lines.length,
        JSON.stringify(lines.slice(firstDiff - 1, firstDiff + 2)),
        JSON.stringify(stored.slice(firstDiff - 1, firstDiff + 2).map((e) => [e.id, e.at])),
      );
    expect(lines.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(lines[5]).toEqual({
      seq: stored[5]?.seq ?? null,
      id: stored[5]?.id,
      at: new Date(stored[5]?.at ?? 0).toISOString(),
      action: "settings.updated",
      actor_id: null,
      target_id: null,
      ip: "192.0.2.9",
      details: stored[5]?.details,
      mac: stored[5]?.mac,
      chain: stored[5]?.chain ?? null,
    });

    const csv = await call("GET", `/api/v1/tenants/${tenantId}/audit-events/export?format=csv`, { token });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const [header, ...rows] = parseCsv(csv.text);
    expect(header).toEqual([
      "seq",
      "id",
      "at",
      "action",
      "actor_id",
      "target_id",
      "ip",
      "details",
      "mac",
      "chain",
    ]);
    expect(rows.map((r) => r[1])).toEqual(stored.map((e) => e.id));
    expect(rows[5]?.[7]).toBe(JSON.stringify(stored[5]?.details));
  });

  it("keeps to the time range: from inclusive, to exclusive", async () => {
    const { tenantId, admin } = await createTenant();
    const start = now();
    await writeEvents(tenantId, 3, (i) => ({ hour: 0, i }));
    advanceClock(2 * HOUR);
    await writeEvents(tenantId, 2, (i) => ({ hour: 2, i }));
    advanceClock(2 * HOUR);
    await writeEvents(tenantId, 4, (i) => ({ hour: 4, i }));
    const token = await sessionToken(admin);
    const from = new Date(start + HOUR).toISOString();
    const to = new Date(start + 3 * HOUR).toISOString();
    const ranged = await call(
      "GET",
      `/api/v1/tenants/${tenantId}/audit-events/export?format=jsonl&from=${from}&to=${to}`,
      {
        token,
      },
    );
    const hours = ranged.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line).details.hour);
    expect(hours).toEqual([2, 2]);
    const all = await call("GET", `/api/v1/tenants/${tenantId}/audit-events/export?format=jsonl`, { token });
    expect(all.text.trimEnd().split("\n")).toHaveLength(9);
  });

  it("refuses a format or an instant it does not know", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const base = `/api/v1/tenants/${tenantId}/audit-events/export`;
    expectError(await call("GET", `${base}?format=xlsx`, { token }), 400, "invalid_request");
    expectError(await call("GET", `${base}?from=yesterday`, { token }), 400, "invalid_request");
  });
});

describe("enrollment report export", () => {
  it("lists every user with role, factors, deadlines and last sign-in, across several pages", async () => {
    const { tenantId, admin } = await createTenant();
    const enrolled = await enrollMfa(admin); // signs in: a last sign-in
    await manyUsers(tenantId, EXPORT_PAGE + 5);
    const member = await addUser(tenantId, { username: "zed" });
    await db
      .update(tenants)
      .set({ mfaRequired: true, mfaEnforcedSince: now(), mfaGracePeriodDays: 7 })
      .where(eq(tenants.id, tenantId));
    advanceClock(HOUR);
    const newcomer = await addUser(tenantId, { username: "zoe" });

    const response = await call("GET", `/api/v1/tenants/${tenantId}/users/export?format=jsonl`, {
      token: enrolled.token,
    });
    expect(response.status).toBe(200);
    const lines = response.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const stored = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.tenantId, tenantId))
      .orderBy(asc(users.usernameKey));
    expect(lines.map((u) => u.id)).toEqual(stored.map((u) => u.id));
    const byName = new Map(lines.map((u) => [u.username, u]));
    expect(byName.get("admin")).toMatchObject({
      role: "admin",
      active: true,
      mfa_enabled: true,
      factors: "totp",
      passkeys: 0,
      enforcement: "none",
      grace_deadline: null,
    });
    expect(byName.get("admin")?.last_sign_in_at).toEqual(expect.any(String));
    expect(byName.get("admin")?.enrolled_at).toEqual(expect.any(String));
    const graceEnd = (await db.select().from(tenants).where(eq(tenants.id, tenantId)))[0];
    expect(byName.get("zed")).toMatchObject({
      username: member.username,
      mfa_enabled: false,
      factors: "",
      enforcement: "grace",
      grace_deadline: new Date((graceEnd?.mfaEnforcedSince ?? 0) + 7 * 24 * HOUR).toISOString(),
      last_sign_in_at: null,
    });
    expect(byName.get("zoe")).toMatchObject({ username: newcomer.username, enforcement: "blocked" });
    // The report holds nothing secret.
    expect(response.text).not.toMatch(/password|totp_secret|pbkdf2/);

    const csv = await call("GET", `/api/v1/tenants/${tenantId}/users/export`, { token: enrolled.token });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const [header, ...rows] = parseCsv(csv.text);
    expect(header?.slice(0, 4)).toEqual(["id", "username", "email", "role"]);
    expect(rows).toHaveLength(stored.length);
  });

  it("pages by username with no user twice or missed, whatever the page size", async () => {
    const { tenantId } = await createTenant();
    await manyUsers(tenantId, 23);
    const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw new Error("no tenant");
    const seen: string[] = [];
    let pages = 0;
    for await (const page of userReportPages(db, tenant, now(), 5)) {
      pages += 1;
      seen.push(...page.map((u) => u.username));
    }
    expect(pages).toBe(5);
    expect(seen).toHaveLength(24);
    expect(new Set(seen).size).toBe(24);
  });

  it("writes a field a spreadsheet would run as a formula as text", async () => {
    const { tenantId, admin } = await createTenant();
    await addUser(tenantId, { username: "+cmd" });
    await addUser(tenantId, { username: "@sum" });
    const csv = await call("GET", `/api/v1/tenants/${tenantId}/users/export?format=csv`, {
      token: await sessionToken(admin),
    });
    const names = parseCsv(csv.text).map((row) => row[1]);
    expect(names).toContain("'+cmd");
    expect(names).toContain("'@sum");
  });
});

describe("who may export", () => {
  it("refuses a member and another tenant's admin on both exports", async () => {
    const { tenantId } = await createTenant();
    const member = await sessionToken(await addUser(tenantId));
    const stranger = await sessionToken((await createTenant()).admin);
    for (const path of [
      `/api/v1/tenants/${tenantId}/audit-events/export`,
      `/api/v1/tenants/${tenantId}/users/export`,
    ]) {
      expectError(await call("GET", path, { token: member }), 403, "forbidden");
      expectError(await call("GET", path, { token: stranger }), 403, "forbidden");
    }
  });
});
