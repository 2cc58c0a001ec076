// Tenant administration for the tenant's admins: settings, MFA reset, the enrollment dashboard,
// reminder emails and the audit trail. Every route is behind tenantAdminOnly.
import * as z from "zod";
import { coverageHistory } from "../admin/coverage";
import { enrollmentDashboard } from "../admin/dashboard";
import { sendReminders } from "../admin/reminders";
import { resetUserMfa } from "../admin/reset";
import { type measureImpact, updateSettings } from "../admin/settings";
import { verifyAuditTrail } from "../audit/seal";
import { listAuditEvents } from "../auth/audit";
import { MAX_GRACE_PERIOD_DAYS } from "../auth/enforcement";
import { findTenantUser } from "../auth/users";
import { requestContext } from "../context";
import { createRoute, createRouter } from "./router";
import { Cursor, encodeCursor, PageLimit, TenantParams, User } from "./schemas";
import { isoTime, settingsOf, toPublicUser } from "./shapes";

export const tenantRoutes = createRouter();

const Settings = z
  .object({
    mfa_required: z.boolean(),
    mfa_grace_period_days: z.number().int(),
    mfa_enforced_since: z.string().nullable().meta({ description: "When the current enforcement began" }),
  })
  .meta({ id: "TenantSettings" });

const SettingsPatch = z
  .object({
    mfa_required: z.boolean().optional(),
    mfa_grace_period_days: z.number().int().min(0).max(MAX_GRACE_PERIOD_DAYS).optional(),
  })
  .strict()
  .meta({ id: "TenantSettingsPatch" });

const Impact = z
  .object({
    users_without_mfa: z.number().int(),
    blocked_now: z.number().int(),
    in_grace: z.number().int(),
    grace_deadline: z.string().nullable(),
  })
  .meta({ id: "EnforcementImpact", description: "What the settings mean for the tenant's users right now" });

function impactOf(impact: Awaited<ReturnType<typeof measureImpact>>) {
  return {
    users_without_mfa: impact.usersWithoutMfa,
    blocked_now: impact.blockedNow,
    in_grace: impact.inGrace,
    grace_deadline: isoTime(impact.graceDeadline),
  };
}

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/settings",
    operationId: "getTenantSettings",
    auth: "tenant-admin",
    summary: "The tenant's MFA settings",
    request: { params: TenantParams },
    responses: {
      200: { description: "Settings", content: { "application/json": { schema: Settings } } },
    },
  }),
  (c) => c.json(settingsOf(c.var.auth.tenant), 200),
);

tenantRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{tenantID}/settings",
    operationId: "updateTenantSettings",
    auth: "tenant-admin",
    summary: "Require MFA for everyone, with a grace period for existing users",
    request: {
      params: TenantParams,
      body: { required: true, content: { "application/json": { schema: SettingsPatch } } },
    },
    responses: {
      200: {
        description: "The new settings and their consequence",
        content: { "application/json": { schema: Settings.extend({ impact: Impact }) } },
      },
    },
    errors: [409],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { tenant, impact } = await updateSettings(
      c.var.db,
      c.var.auth.tenant,
      { mfaRequired: body.mfa_required, mfaGracePeriodDays: body.mfa_grace_period_days },
      { id: c.var.auth.user.id, ip: c.var.ip },
    );
    return c.json({ ...settingsOf(tenant), impact: impactOf(impact) }, 200);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{tenantID}/users/{userID}/reset-mfa",
    operationId: "resetUserMfa",
    auth: "tenant-admin",
    summary: "Remove another user's MFA: secret and backup codes go, sessions end, the user is emailed",
    description:
      "An admin's own MFA is refused with 403 forbidden: turning it off goes through /mfa/disable, which asks for a current code.",
    request: {
      params: TenantParams.extend({
        userID: z.string().min(1).max(64),
      }),
    },
    responses: {
      200: {
        description: "The user, without MFA",
        content: { "application/json": { schema: z.object({ user: User }) } },
      },
    },
    errors: [404, 429],
  }),
  async (c) => {
    const { userID } = c.req.valid("param");
    const { user, tenant } = c.var.auth;
    const ctx = { ...requestContext(c), tenant, actor: { kind: "admin" as const, user } };
    const target = await resetUserMfa(ctx, await findTenantUser(c.var.db, tenant.id, userID));
    return c.json({ user: toPublicUser(target) }, 200);
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/mfa/status",
    operationId: "getEnrollmentDashboard",
    auth: "tenant-admin",
    summary: "The enrollment dashboard: totals and a page of users without MFA",
    request: { params: TenantParams, query: z.object({ limit: PageLimit, cursor: Cursor }) },
    responses: {
      200: {
        description: "Enrollment",
        content: {
          "application/json": {
            schema: z
              .object({
                total_users: z.number().int(),
                enrolled_users: z.number().int(),
                by_factor: z
                  .object({
                    totp: z.number().int().meta({ description: "Enrolled with TOTP and no passkey" }),
                    passkey: z.number().int().meta({ description: "Enrolled with passkeys and no TOTP" }),
                    both: z.number().int().meta({ description: "Enrolled with TOTP and passkeys" }),
                  })
                  .meta({ description: "The enrolled users by the factors they hold" }),
                not_enrolled: z.array(
                  z.object({
                    id: z.string(),
                    username: z.string(),
                    email: z.string(),
                    deadline: z.string().nullable(),
                    blocked: z.boolean(),
                  }),
                ),
                next_cursor: z.string().nullable(),
              })
              .meta({ id: "EnrollmentDashboard" }),
          },
        },
      },
    },
  }),
  async (c) => {
    const dashboard = await enrollmentDashboard(c.var.db, c.var.auth.tenant, c.req.valid("query"));
    return c.json(
      {
        total_users: dashboard.totalUsers,
        enrolled_users: dashboard.enrolledUsers,
        by_factor: dashboard.byFactor,
        not_enrolled: dashboard.notEnrolled.map((row) => ({ ...row, deadline: isoTime(row.deadline) })),
        next_cursor: encodeCursor(dashboard.nextCursor),
      },
      200,
    );
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/mfa/history",
    operationId: "getMfaHistory",
    auth: "tenant-admin",
    summary: "MFA coverage over time: the totals the daily cron recorded, one day each",
    request: {
      params: TenantParams,
      query: z.object({
        days: z.coerce.number().int().min(1).max(366).default(30).meta({ description: "Today included" }),
      }),
    },
    responses: {
      200: {
        description: "The recorded days, oldest first (a day the cron did not run is absent)",
        content: {
          "application/json": {
            schema: z
              .object({
                days: z.array(
                  z.object({
                    date: z.string().meta({ format: "date" }),
                    total_users: z.number().int(),
                    enrolled_users: z.number().int(),
                    blocked: z.number().int(),
                    in_grace: z.number().int(),
                  }),
                ),
              })
              .meta({ id: "MfaHistory" }),
          },
        },
      },
    },
  }),
  async (c) => {
    const history = await coverageHistory(c.var.db, c.var.auth.tenant.id, c.req.valid("query").days);
    return c.json(
      {
        days: history.map((day) => ({
          date: day.date,
          total_users: day.totalUsers,
          enrolled_users: day.enrolledUsers,
          blocked: day.blocked,
          in_grace: day.inGrace,
        })),
      },
      200,
    );
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{tenantID}/mfa/reminders",
    operationId: "sendMfaReminders",
    auth: "tenant-admin",
    summary: "Email enrollment reminders now (to everyone without MFA, or to chosen users)",
    request: {
      params: TenantParams,
      body: {
        required: false,
        content: {
          "application/json": {
            schema: z
              .object({ user_ids: z.array(z.string().min(1).max(64)).min(1).max(50).optional() })
              .strict(),
          },
        },
      },
    },
    responses: {
      202: {
        description: "Queued",
        content: { "application/json": { schema: z.object({ queued: z.number().int() }) } },
      },
    },
    errors: [429],
  }),
  async (c) => {
    const { user_ids } = c.req.valid("json");
    const { user, tenant } = c.var.auth;
    const queued = await sendReminders(c.env, c.var.db, tenant, { id: user.id, ip: c.var.ip }, user_ids);
    return c.json({ queued }, 202);
  },
);

const AuditEvent = z
  .object({
    id: z.string(),
    at: z.string(),
    actor_id: z.string().nullable(),
    action: z.string(),
    target_id: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: "AuditEvent" });

const Verification = z
  .object({
    ok: z.boolean(),
    checked: z.number().int().meta({ description: "Sealed events whose MAC and chain link were checked" }),
    pending: z.number().int().meta({ description: "Events written but not yet sealed into the chain" }),
    first_broken: z
      .object({
        id: z
          .string()
          .nullable()
          .meta({ description: "The event where the chain breaks (null for a checkpoint)" }),
        seq: z.number().int().nullable(),
        reason: z.enum([
          "altered",
          "missing",
          "out_of_order",
          "forged",
          "truncated",
          "checkpoint_mismatch",
          "checkpoint_invalid",
        ]),
      })
      .nullable(),
    last_checkpoint: z
      .object({
        seq: z.number().int(),
        at: z.string().meta({ format: "date-time" }),
        kind: z.enum(["daily", "cut"]),
      })
      .nullable(),
  })
  .meta({ id: "AuditVerification" });

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/audit-events/verify",
    operationId: "verifyAuditEvents",
    auth: "tenant-admin",
    summary: "Check the audit trail's chain and signed checkpoints; reports the first broken link",
    request: { params: TenantParams },
    responses: {
      200: {
        description: "The outcome (a broken chain is still a 200: the answer is the finding)",
        content: { "application/json": { schema: Verification } },
      },
    },
  }),
  async (c) => {
    const result = await verifyAuditTrail({ env: c.env, db: c.var.db }, c.var.auth.tenant.id);
    const last = result.lastCheckpoint;
    return c.json(
      {
        ok: result.ok,
        checked: result.checked,
        pending: result.pending,
        first_broken: result.firstBroken,
        last_checkpoint: last ? { seq: last.seq, at: isoTime(last.at), kind: last.kind } : null,
      },
      200,
    );
  },
);

tenantRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/audit-events",
    operationId: "listAuditEvents",
    auth: "tenant-admin",
    summary: "The audit trail, newest first",
    request: { params: TenantParams, query: z.object({ limit: PageLimit, cursor: Cursor }) },
    responses: {
      200: {
        description: "A page of events",
        content: {
          "application/json": {
            schema: z.object({ events: z.array(AuditEvent), next_cursor: z.string().nullable() }),
          },
        },
      },
    },
  }),
  async (c) => {
    const page = await listAuditEvents(c.var.db, c.var.auth.tenant.id, c.req.valid("query"));
    return c.json(
      {
        events: page.events.map((e) => ({
          id: e.id,
          at: isoTime(e.at),
          actor_id: e.actorId,
          action: e.action,
          target_id: e.targetId,
          ip: e.ip,
          details: e.details ?? null,
        })),
        next_cursor: encodeCursor(page.nextCursor),
      },
      200,
    );
  },
);
