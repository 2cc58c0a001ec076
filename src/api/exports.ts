// The admin exports as downloads: the audit trail and the enrollment report, in CSV or JSON Lines,
// streamed a keyset page at a time (the pages: src/admin/exports.ts). Mounted before the users
// routes, so /users/export is never taken for a user id.
import * as z from "zod";
import { auditEventPages, type ReportedUser, userReportPages } from "../admin/exports";
import { sealTenant } from "../audit/seal";
import { enforcementDeadline } from "../auth/enforcement";
import { now } from "../clock";
import type { auditEvents } from "../db/schema";
import { createRoute, createRouter } from "./router";
import { TenantParams } from "./schemas";
import { isoTime } from "./shapes";

export const exportRoutes = createRouter();

const MEDIA = { csv: "text/csv", jsonl: "application/x-ndjson" } as const;
type Format = keyof typeof MEDIA;

const FormatQuery = z
  .enum(["csv", "jsonl"])
  .default("csv")
  .meta({ description: "CSV (RFC 4180) or JSON Lines" });
const Instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .meta({ description: "A date (UTC midnight) or an ISO 8601 date-time" });

type Row = Record<string, string | number | boolean | null | object>;

interface Columns {
  names: string[];
  /** The columns holding other people's text (usernames, emails, details): see csvCell. */
  typed: string[];
}

/** A streamed download: the header line (CSV), then each page's rows as they are read. */
function download(format: Format, filename: string, columns: Columns, pages: AsyncIterable<Row[]>) {
  const encoder = new TextEncoder();
  const iterator = pages[Symbol.asyncIterator]();
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started && format === "csv") controller.enqueue(encoder.encode(`${columns.names.join(",")}\r\n`));
      started = true;
      const next = await iterator.next();
      if (next.done) return controller.close();
      const lines = next.value.map((row) =>
        format === "csv"
          ? `${columns.names.map((name) => csvCell(row[name] ?? null, columns.typed.includes(name))).join(",")}\r\n`
          : `${JSON.stringify(row)}\n`,
      );
      controller.enqueue(encoder.encode(lines.join("")));
    },
    async cancel() {
      await iterator.return?.(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": `${MEDIA[format]}; charset=utf-8`,
      "Content-Disposition": `attachment; filename="${filename}.${format}"`,
    },
  });
}

/**
 * One CSV field. Typed text a spreadsheet would run as a formula (=, +, -, @, tab, return first) is
 * prefixed with ' (OWASP's CSV injection advice). Our own values (ids, MACs, times) are left exact:
 * an id may start with "-" and must still match the trail.
 */
function csvCell(value: Row[string], typed: boolean): string {
  if (value === null) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typed && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function* mapPages<T>(pages: AsyncIterable<T[]>, shape: (item: T) => Row) {
  for await (const page of pages) yield page.map(shape);
}

function toMs(instant: string | undefined): number | undefined {
  return instant === undefined
    ? undefined
    : Date.parse(instant.length === 10 ? `${instant}T00:00:00Z` : instant);
}

const AUDIT_COLUMNS: Columns = {
  names: ["seq", "id", "at", "action", "actor_id", "target_id", "ip", "details", "mac", "chain"],
  typed: ["details"],
};

function auditRowOf(event: typeof auditEvents.$inferSelect): Row {
  return {
    seq: event.seq,
    id: event.id,
    at: isoTime(event.at),
    action: event.action,
    actor_id: event.actorId,
    target_id: event.targetId,
    ip: event.ip,
    details: event.details ?? null,
    mac: event.mac,
    chain: event.chain,
  };
}

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/audit-events/export",
    operationId: "exportAuditEvents",
    auth: "tenant-admin",
    summary: "Download the audit trail (CSV or JSON Lines), oldest first, optionally within a time range",
    description:
      "Streamed in pages, so any size of trail downloads. Each event carries its seq, MAC and chain link, which `GET …/audit-events/verify` (or `npm run admin -- verify-audit`) checks.",
    request: {
      params: TenantParams,
      query: z.object({
        format: FormatQuery,
        from: Instant.optional().meta({ description: "Events at or after this instant" }),
        to: Instant.optional().meta({ description: "Events before this instant" }),
      }),
    },
    responses: { 200: { description: "The events, one per line", download: [MEDIA.csv, MEDIA.jsonl] } },
  }),
  async (c) => {
    const { format, from, to } = c.req.valid("query");
    const tenantId = c.var.auth.tenant.id;
    await sealTenant({ env: c.env, db: c.var.db }, tenantId); // so every event exported carries its place in the chain
    const pages = auditEventPages(c.var.db, tenantId, { from: toMs(from), to: toMs(to) });
    return download(format, `audit-${tenantId}`, AUDIT_COLUMNS, mapPages(pages, auditRowOf));
  },
);

const USER_COLUMNS: Columns = {
  names: [
    "id",
    "username",
    "email",
    "role",
    "active",
    "mfa_enabled",
    "factors",
    "passkeys",
    "enrolled_at",
    "enforcement",
    "grace_deadline",
    "last_sign_in_at",
    "created_at",
  ],
  typed: ["username", "email"],
};

function userRowOf(user: ReportedUser): Row {
  const factors = [user.totp ? "totp" : null, user.passkeys > 0 ? "passkey" : null].filter(Boolean);
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    active: user.active,
    mfa_enabled: user.enrolledAt !== null,
    factors: factors.join(" "),
    passkeys: user.passkeys,
    enrolled_at: isoTime(user.enrolledAt),
    enforcement: user.enforcement.kind,
    grace_deadline: isoTime(enforcementDeadline(user.enforcement)),
    last_sign_in_at: isoTime(user.lastSignInAt),
    created_at: isoTime(user.createdAt),
  };
}

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/users/export",
    operationId: "exportUsers",
    auth: "tenant-admin",
    summary: "Download the enrollment report: every user with role, MFA status, factors and deadlines",
    description:
      "One line per user in username order, streamed in pages. `enforcement` is none, grace or blocked; `grace_deadline` is when MFA is (or was) due. `factors` lists totp and passkey, space separated.",
    request: { params: TenantParams, query: z.object({ format: FormatQuery }) },
    responses: { 200: { description: "The users, one per line", download: [MEDIA.csv, MEDIA.jsonl] } },
  }),
  (c) => {
    const tenant = c.var.auth.tenant;
    const pages = userReportPages(c.var.db, tenant, now());
    return download(
      c.req.valid("query").format,
      `users-${tenant.id}`,
      USER_COLUMNS,
      mapPages(pages, userRowOf),
    );
  },
);
