// The audit log for admins: the tenant's events, newest first, in words.
import { Hono } from "hono";
import { type AuditAction, listAuditEvents } from "../auth/audit";
import { usernamesOf } from "../auth/users";
import type { AppEnv } from "../context";
import type { auditEvents } from "../db/schema";
import { adminOnly, nextPageQuery, PAGE_SIZE } from "./admin";
import { LoadMoreRow, LocalTime } from "./components";
import { fragment, page, type UiContext } from "./http";
import { AppPage, PageHeader } from "./layout";
import { viewerOf } from "./profile";

export const auditRoutes = new Hono<AppEnv>();

auditRoutes.get("/", ...adminOnly, async (c) => {
  const viewer = viewerOf(c);
  return page(
    c,
    <AppPage viewer={viewer} title="Audit log" section="audit">
      <PageHeader
        title="Audit log"
        lead="Every MFA change, settings change, reset and reminder in your organisation, newest first."
      />
      <section class="card card-flush">
        <table class="table audit-table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">By</th>
              <th scope="col">For</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>{await auditRows(c, undefined)}</tbody>
        </table>
      </section>
    </AppPage>,
  );
});

auditRoutes.get("/rows", ...adminOnly, async (c) =>
  fragment(c, await auditRows(c, c.req.query("cursor")?.slice(0, 400))),
);

async function auditRows(c: UiContext, cursor: string | undefined) {
  const tenantId = c.var.auth.tenant.id;
  const { events, nextCursor } = await listAuditEvents(c.var.db, tenantId, { limit: PAGE_SIZE, cursor });
  const names = await usernamesOf(c.var.db, tenantId, [
    ...new Set(events.flatMap((e) => [e.actorId, e.targetId]).filter((id): id is string => id !== null)),
  ]);
  const next = nextPageQuery(nextCursor);
  return (
    <>
      {events.length === 0 && (
        <tr>
          <td colspan={5} class="empty">
            Nothing has happened yet.
          </td>
        </tr>
      )}
      {events.map((event) => (
        <tr data-action={event.action}>
          <td data-label="When">
            <LocalTime at={event.at} />
          </td>
          <td data-label="Event">
            <span class="cell-title">{ACTIONS[event.action as AuditAction] ?? event.action}</span>
            <span class="muted">{describeDetails(event)}</span>
          </td>
          <td data-label="By">{who(event.actorId, names, "System")}</td>
          <td data-label="For">{who(event.targetId, names, "—")}</td>
          <td data-label="Address" class="mono">
            {event.ip ?? "—"}
          </td>
        </tr>
      ))}
      {next && <LoadMoreRow href={`/ui/audit/rows?${next}`} columns={5} />}
    </>
  );
}

function who(id: string | null, names: Map<string, string>, none: string): string {
  if (id === null) return none;
  return names.get(id) ?? id;
}

const ACTIONS: Record<AuditAction, string> = {
  "mfa.enabled": "Turned on MFA",
  "mfa.disabled": "Turned off MFA",
  "mfa.device_changed": "Moved MFA to a new device",
  "mfa.totp_added": "Added an authenticator app",
  "mfa.passkey_added": "Added a passkey",
  "mfa.passkey_renamed": "Renamed a passkey",
  "mfa.passkey_removed": "Removed a passkey",
  "mfa.backup_code_used": "Signed in with a backup code",
  "mfa.backup_codes_regenerated": "Regenerated backup codes",
  "mfa.reset": "Reset MFA",
  "mfa.lockout": "Locked out after wrong codes",
  "settings.updated": "Changed security settings",
  "user.created": "Created a user",
  "user.role_changed": "Changed a user's role",
  "user.deactivated": "Deactivated a user",
  "user.reactivated": "Reactivated a user",
  "user.deleted": "Deleted a user",
  "user.password_changed": "Changed their password",
  "user.password_reset": "Set a new password through a reset link",
  "user.password_reset_requested": "Asked for a password reset link",
  "user.password_reset_sent": "Sent a password reset link",
  "session.ended": "Ended one of their sessions",
  "sessions.ended": "Ended sessions",
  "tenant.created": "Created the organisation",
  "reminders.sent": "Sent MFA reminder emails",
  "email.failed": "An email could not be delivered",
  "email.limit_reached": "Reached a daily email limit; further emails today were not sent",
};

function describeDetails(event: typeof auditEvents.$inferSelect): string {
  const details = event.details ?? {};
  switch (event.action) {
    case "settings.updated": {
      const before = details.before as SettingsDetails | undefined;
      const after = details.after as SettingsDetails | undefined;
      if (!before || !after) return "";
      const parts: string[] = [];
      if (before.mfa_required !== after.mfa_required) {
        parts.push(`Require MFA: ${onOff(before.mfa_required)} → ${onOff(after.mfa_required)}`);
      }
      if (before.mfa_grace_period_days !== after.mfa_grace_period_days) {
        parts.push(`Grace period: ${before.mfa_grace_period_days} → ${after.mfa_grace_period_days} days`);
      }
      return parts.join(" · ") || "No change";
    }
    case "mfa.backup_code_used":
      return `${details.remaining} backup codes left`;
    case "reminders.sent":
      return `${details.queued} queued`;
    case "user.role_changed":
      return `${details.from} → ${details.to}`;
    case "sessions.ended":
      return `${details.count} ended`;
    case "mfa.reset":
      return details.by === "operator" ? "By the operator" : details.had_mfa === false ? "Had no MFA" : "";
    default:
      return Object.entries(details)
        .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
        .join(" · ");
  }
}

interface SettingsDetails {
  mfa_required: boolean;
  mfa_grace_period_days: number;
}

function onOff(value: boolean): string {
  return value ? "on" : "off";
}
