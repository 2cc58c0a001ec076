// Settings → Security (the "Require MFA" toggle, the grace period and what saving would do) and
// Settings → Security → MFA Status (enrollment progress, who lacks MFA, reminder emails).
import { Hono } from "hono";
import { coverageHistory } from "../admin/coverage";
import { enrollmentDashboard } from "../admin/dashboard";
import { sendReminders } from "../admin/reminders";
import {
  type Impact,
  measureImpact,
  previewSettings,
  type SettingsPatch,
  updateSettings,
} from "../admin/settings";
import { graceDeadline, MAX_GRACE_PERIOD_DAYS } from "../auth/enforcement";
import type { AppEnv } from "../context";
import type { Tenant } from "../db/schema";
import { adminOnly, nextPageQuery, PAGE_SIZE } from "./admin";
import { Alert, Countdown, Field, formatDuration, LoadMoreRow, LocalTime, Pill } from "./components";
import { CoverageChart } from "./coverage-chart";
import { showErrorsInPlace } from "./errors";
import { formFields, fragment, page, redirect } from "./http";
import { AppPage, GraceBanner, PageHeader, SettingsTabs } from "./layout";
import { viewerOf } from "./profile";

export const securityRoutes = new Hono<AppEnv>();

securityRoutes.get("/", (c) => redirect(c, "/ui/settings/security"));

securityRoutes.get("/security", ...adminOnly, async (c) => {
  const viewer = viewerOf(c);
  const impact = await measureImpact(c.var.db, viewer.tenant);
  return page(
    c,
    <AppPage viewer={viewer} title="Security settings" section="settings">
      <PageHeader title="Settings" lead={`How people in ${viewer.tenant.name} sign in.`} />
      <SettingsTabs current="security" />
      <SecurityCard tenant={viewer.tenant} impact={impact} />
    </AppPage>,
  );
});

/** The consequence of the form's current values, computed and shown without saving anything. */
securityRoutes.get("/security/preview", ...adminOnly, async (c) => {
  const patch = parseSettings((name) => c.req.query(name) ?? "");
  if (!patch) return fragment(c, <Alert tone="error">{GRACE_ERROR}</Alert>, 422);
  const before = c.var.auth.tenant;
  const { tenant: after, impact } = await previewSettings(c.var.db, before, patch);
  return fragment(c, <ImpactSummary before={before} after={after} impact={impact} />);
});

securityRoutes.post("/security", ...adminOnly, async (c) => {
  const tenant = c.var.auth.tenant;
  const patch = parseSettings(await formFields(c));
  if (!patch) {
    const impact = await measureImpact(c.var.db, tenant);
    return fragment(c, <SecurityCard tenant={tenant} impact={impact} error={GRACE_ERROR} />, 422);
  }
  let saved: Awaited<ReturnType<typeof updateSettings>>;
  try {
    saved = await updateSettings(c.var.db, tenant, patch, { id: c.var.auth.user.id, ip: c.var.ip });
  } catch (error) {
    const impact = await measureImpact(c.var.db, tenant);
    return showErrorsInPlace(c, error, (message) => (
      <SecurityCard tenant={tenant} impact={impact} error={message} />
    ));
  }
  // The admin is enforced too: their own grace banner follows the new settings at once.
  const viewer = viewerOf(c, saved.tenant);
  return fragment(
    c,
    <>
      <SecurityCard tenant={saved.tenant} impact={saved.impact} saved />
      <GraceBanner viewer={viewer} oob />
    </>,
  );
});

const GRACE_ERROR = `Enter a grace period of 0 to ${MAX_GRACE_PERIOD_DAYS} days.`;

/** The form's two fields; null when the grace period is not a whole number of days in range. */
function parseSettings(field: (name: string) => string): SettingsPatch | null {
  const days = field("mfa_grace_period_days").trim();
  if (!/^\d{1,3}$/.test(days) || Number(days) > MAX_GRACE_PERIOD_DAYS) return null;
  const version = field("settings_version");
  return {
    mfaRequired: field("mfa_required") === "on",
    mfaGracePeriodDays: Number(days),
    // The form says which settings it showed: saving it over a change made since is a conflict.
    settingsVersion: /^\d{1,9}$/.test(version) ? Number(version) : undefined,
  };
}

const SecurityCard = ({
  tenant,
  impact,
  saved = false,
  error,
}: {
  tenant: Tenant;
  impact: Impact;
  saved?: boolean;
  error?: string | undefined;
}) => {
  const deadline = graceDeadline(tenant);
  return (
    <section id="security-card" class="card" aria-labelledby="security-title">
      <h2 id="security-title">Multi-factor authentication</h2>
      {saved && <Alert tone="success">Saved. The new settings apply from now on.</Alert>}
      {error && <Alert tone="error">{error}</Alert>}
      <form
        class="stack"
        method="post"
        action="/ui/settings/security"
        hx-post="/ui/settings/security"
        hx-target="#security-card"
        hx-swap="outerHTML"
        hx-disabled-elt="find button[type='submit']"
      >
        <input type="hidden" name="settings_version" value={String(tenant.settingsVersion)} />
        <div class="switch-row">
          <input
            type="checkbox"
            class="switch"
            id="mfa-required"
            name="mfa_required"
            value="on"
            checked={tenant.mfaRequired}
            aria-describedby="mfa-required-hint"
          />
          <label for="mfa-required">
            <strong>Require MFA for all users</strong>
            <span class="hint" id="mfa-required-hint">
              Everyone, admins included, must use two-step verification to sign in.
            </span>
          </label>
        </div>
        <Field
          id="grace-days"
          label="Grace period (days)"
          hint="People who already have an account can keep signing in without MFA for this many days after you turn it on. New accounts must set it up at their first sign-in."
          control={(describedBy) => (
            <input
              id="grace-days"
              name="mfa_grace_period_days"
              type="number"
              inputmode="numeric"
              min="0"
              max={String(MAX_GRACE_PERIOD_DAYS)}
              step="1"
              required
              class="input-narrow"
              value={String(tenant.mfaGracePeriodDays)}
              aria-describedby={describedBy}
            />
          )}
        />
        {tenant.mfaRequired && tenant.mfaEnforcedSince !== null && (
          <p class="muted">
            Required since <LocalTime at={tenant.mfaEnforcedSince} />
            {deadline !== null && (
              <>
                ; the grace period for existing users ends <LocalTime at={deadline} />
              </>
            )}
            .
          </p>
        )}
        <div
          id="impact-preview"
          class="impact"
          aria-live="polite"
          hx-get="/ui/settings/security/preview"
          hx-include="closest form"
          hx-trigger="input from:closest form delay:300ms, change from:closest form"
          hx-target="this"
          hx-swap="innerHTML"
          hx-disabled-elt="unset"
        >
          <ImpactSummary before={tenant} after={tenant} impact={impact} />
        </div>
        <div class="actions">
          <button type="submit" class="btn btn-primary">
            Save
          </button>
        </div>
      </form>
    </section>
  );
};

/** Who is blocked now and who is in grace, under `after`; worded as a forecast when it differs. */
const ImpactSummary = ({ before, after, impact }: { before: Tenant; after: Tenant; impact: Impact }) => {
  const changed =
    before.mfaRequired !== after.mfaRequired || before.mfaGracePeriodDays !== after.mfaGracePeriodDays;
  const enrolled = after.userCount - impact.usersWithoutMfa;
  const heading = changed ? "If you save now" : "Right now";
  if (!after.mfaRequired) {
    return (
      <div class="impact-body" data-impact={changed ? "preview" : "current"}>
        <h3>{heading}</h3>
        <p>
          {changed
            ? "MFA will no longer be required. Nobody will be asked to set it up, and people without it sign in with a password alone."
            : "MFA is optional."}{" "}
          {enrolled} of {after.userCount} users have it on.
        </p>
      </div>
    );
  }
  return (
    <div class="impact-body" data-impact={changed ? "preview" : "current"}>
      <h3>{heading}</h3>
      <ul class="impact-list">
        <li class={impact.blockedNow > 0 ? "impact-danger" : ""}>
          <strong data-count="blocked">{impact.blockedNow}</strong>{" "}
          {impact.blockedNow === 1 ? "user is" : "users are"} blocked: they must set up MFA at their next
          sign-in before they can do anything else.
        </li>
        <li class={impact.inGrace > 0 ? "impact-warning" : ""}>
          <strong data-count="grace">{impact.inGrace}</strong> {impact.inGrace === 1 ? "user" : "users"} in
          grace
          {impact.graceDeadline !== null && impact.inGrace > 0 ? (
            <>
              {" "}
              until <LocalTime at={impact.graceDeadline} />, then blocked the same way.
            </>
          ) : (
            "."
          )}
        </li>
        <li>
          <strong data-count="enrolled">{enrolled}</strong> {enrolled === 1 ? "user has" : "users have"} MFA
          already. New users must set it up at their first sign-in.
        </li>
      </ul>
    </div>
  );
};

securityRoutes.get("/security/mfa-status", ...adminOnly, async (c) => {
  const viewer = viewerOf(c);
  const [dashboard, history] = await Promise.all([
    enrollmentDashboard(c.var.db, viewer.tenant, { limit: PAGE_SIZE }),
    coverageHistory(c.var.db, viewer.tenant.id, 30),
  ]);
  const { totalUsers, enrolledUsers } = dashboard;
  const without = totalUsers - enrolledUsers;
  const percent = totalUsers === 0 ? 0 : Math.round((enrolledUsers / totalUsers) * 100);
  return page(
    c,
    <AppPage viewer={viewer} title="MFA Status" section="settings">
      <PageHeader title="Settings" lead={`How people in ${viewer.tenant.name} sign in.`} />
      <SettingsTabs current="mfa-status" />
      <section class="card" aria-labelledby="progress-title">
        <div class="card-title-row">
          <h2 id="progress-title">Enrollment</h2>
          {viewer.tenant.mfaRequired ? (
            <Pill tone="success">MFA required</Pill>
          ) : (
            <Pill tone="neutral">MFA optional</Pill>
          )}
        </div>
        <div class="stats">
          <div class="stat">
            <span class="stat-value" data-stat="total">
              {totalUsers}
            </span>
            <span class="stat-label">Total users</span>
          </div>
          <div class="stat">
            <span class="stat-value" data-stat="enrolled">
              {enrolledUsers}
            </span>
            <span class="stat-label">With MFA</span>
          </div>
          <div class="stat">
            <span class="stat-value" data-stat="without">
              {without}
            </span>
            <span class="stat-label">Without MFA</span>
          </div>
        </div>
        <p class="muted" data-stat="by-factor">
          By factor: {dashboard.byFactor.totp} with an authenticator app only, {dashboard.byFactor.passkey}{" "}
          with passkeys only, {dashboard.byFactor.both} with both.
        </p>
        <label for="enrollment-progress" class="progress-label">
          {enrolledUsers} of {totalUsers} users enrolled ({percent}%)
        </label>
        <progress
          id="enrollment-progress"
          max={String(Math.max(totalUsers, 1))}
          value={String(enrolledUsers)}
        >
          {percent}%
        </progress>
        <h3 class="chart-heading">Last 30 days</h3>
        <CoverageChart days={history} />
      </section>
      <section class="card" aria-labelledby="without-title">
        <div class="card-title-row">
          <h2 id="without-title">Users without MFA</h2>
          <form
            method="post"
            action="/ui/settings/security/mfa-status/reminders"
            hx-post="/ui/settings/security/mfa-status/reminders"
            hx-target="#reminder-result"
            hx-swap="innerHTML"
            hx-disabled-elt="find button"
          >
            <button type="submit" class="btn btn-primary" disabled={without === 0}>
              Send reminder emails
            </button>
          </form>
        </div>
        <div id="reminder-result" aria-live="polite"></div>
        {without === 0 ? (
          <p class="empty">Everyone has two-step verification on.</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Deadline</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody id="not-enrolled-rows">
              <NotEnrolledRows rows={dashboard.notEnrolled} next={nextPageQuery(dashboard.nextCursor)} />
            </tbody>
          </table>
        )}
      </section>
    </AppPage>,
  );
});

securityRoutes.get("/security/mfa-status/rows", ...adminOnly, async (c) => {
  const cursor = c.req.query("cursor")?.slice(0, 400);
  const dashboard = await enrollmentDashboard(c.var.db, c.var.auth.tenant, { limit: PAGE_SIZE, cursor });
  return fragment(
    c,
    <NotEnrolledRows rows={dashboard.notEnrolled} next={nextPageQuery(dashboard.nextCursor)} />,
  );
});

securityRoutes.post("/security/mfa-status/reminders", ...adminOnly, async (c) => {
  const { user, tenant } = c.var.auth;
  try {
    const queued = await sendReminders(c.env, c.var.db, tenant, { id: user.id, ip: c.var.ip });
    return fragment(
      c,
      <Alert tone="success">
        Reminder emails queued for {queued} {queued === 1 ? "user" : "users"} without MFA.
      </Alert>,
    );
  } catch (error) {
    return showErrorsInPlace(c, error, (message, apiError) => (
      <Alert tone="error">
        {apiError.code === "too_many_attempts" && apiError.retryAfterSeconds !== undefined
          ? `Reminders can be sent three times a day. Try again in ${formatDuration(apiError.retryAfterSeconds * 1000)}.`
          : message}
      </Alert>
    ));
  }
});

type NotEnrolled = Awaited<ReturnType<typeof enrollmentDashboard>>["notEnrolled"][number];

const NotEnrolledRows = ({ rows, next }: { rows: NotEnrolled[]; next: string | null }) => (
  <>
    {rows.map((row) => {
      const { deadline } = row;
      return (
        <tr>
          <td data-label="User">
            <span class="cell-title">{row.username}</span>
            <span class="muted">{row.email}</span>
          </td>
          <td data-label="Deadline">{deadline === null ? "—" : <LocalTime at={deadline} />}</td>
          <td data-label="Status">
            {deadline === null ? (
              <Pill tone="neutral">Not required</Pill>
            ) : row.blocked ? (
              <Pill tone="error">Must enroll at sign-in</Pill>
            ) : (
              <Pill tone="warning">
                In grace · <Countdown to={deadline} /> left
              </Pill>
            )}
          </td>
        </tr>
      );
    })}
    {next && <LoadMoreRow href={`/ui/settings/security/mfa-status/rows?${next}`} columns={3} />}
  </>
);
