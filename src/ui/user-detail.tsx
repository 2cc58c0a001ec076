// Settings → Users → a user: their role, deactivating and reactivating them, a password reset link,
// deleting them, and their sessions. The same domain functions as PATCH/DELETE
// /tenants/{id}/users/{id} and its password-reset and sessions routes; each action re-renders the
// page's panel with what happened, or why it was refused, in place.
import { Hono } from "hono";
import { deleteTenantUser, type UserChange, updateTenantUser } from "../admin/users";
import { sendPasswordResetByAdmin } from "../auth/password-reset";
import { endUserSessions, sessionsOf } from "../auth/session-list";
import { findTenantUser } from "../auth/users";
import { type AppEnv, signedInContext } from "../context";
import type { User } from "../db/schema";
import { ApiError } from "../errors";
import { SessionsCard } from "./account";
import { adminOnly } from "./admin";
import { Alert, LocalTime, Pill } from "./components";
import { describeError } from "./errors";
import { formFields, fragment, page, redirect, type UiContext } from "./http";
import { AppPage, PageHeader, SettingsTabs } from "./layout";
import { viewerOf } from "./profile";
import { type ConfirmationErrors, ConfirmIdentity, confirmationError, confirmIfAsked } from "./reauth";

export const userDetailRoutes = new Hono<AppEnv>();

function targetOf(c: UiContext): Promise<User> {
  return findTenantUser(c.var.db, c.var.auth.tenant.id, c.req.param("userID")?.slice(0, 100) ?? "");
}

userDetailRoutes.get("/users/:userID", ...adminOnly, async (c) => {
  const user = await targetOf(c);
  const viewer = viewerOf(c);
  return page(
    c,
    <AppPage viewer={viewer} title={user.username} section="settings">
      <PageHeader title="Settings" lead={`How people in ${viewer.tenant.name} sign in.`} />
      <SettingsTabs current="users" />
      <p>
        <a href="/ui/settings/users">← All users</a>
      </p>
      {await userPanel(c, user, {})}
    </AppPage>,
  );
});

interface PanelState {
  notice?: string;
  error?: string;
  /** Making an admin asked the signed-in admin to confirm it is them. */
  confirm?: ConfirmationErrors;
}

async function userPanel(c: UiContext, user: User, state: PanelState) {
  const sessions = await sessionsOf(c.var.db, user.id, c.var.auth.session.id);
  const self = user.id === c.var.auth.user.id;
  const path = `/ui/settings/users/${encodeURIComponent(user.id)}`;
  const active = user.deactivatedAt === null;
  const action = (to: string) => ({
    method: "post" as const,
    action: `${path}/${to}`,
    "hx-post": `${path}/${to}`,
    "hx-target": "#user-detail",
    "hx-swap": "outerHTML",
    "hx-disabled-elt": "find button",
  });
  return (
    <div id="user-detail" class="profile-grid">
      <section class="card" aria-labelledby="user-title">
        <div class="card-title-row">
          <h2 id="user-title">
            {user.username}
            {self && <span class="muted"> (you)</span>}
          </h2>
          {active ? <Pill tone="success">Active</Pill> : <Pill tone="neutral">Deactivated</Pill>}
        </div>
        {state.notice && <Alert tone="success">{state.notice}</Alert>}
        {state.error && <Alert tone="error">{state.error}</Alert>}
        <dl class="facts">
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Two-step verification</dt>
            <dd>{user.mfaEnabledAt === null ? "Off" : "On"}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <LocalTime at={user.createdAt} />
            </dd>
          </div>
          {!active && user.deactivatedAt !== null && (
            <div>
              <dt>Deactivated</dt>
              <dd>
                <LocalTime at={user.deactivatedAt} />
              </dd>
            </div>
          )}
        </dl>
        <form class="stack" {...action("role")}>
          <div class="field">
            <label for="user-role">Role</label>
            <select id="user-role" name="role">
              <option value="member" selected={user.role === "member"}>
                Member
              </option>
              <option value="admin" selected={user.role === "admin"}>
                Admin
              </option>
            </select>
          </div>
          {state.confirm && (
            <ConfirmIdentity
              withCode={c.var.auth.user.mfaEnabledAt !== null}
              errors={state.confirm}
              intro="You signed in a while ago. Making an admin needs your password again."
            />
          )}
          <div class="actions">
            <button type="submit" class="btn btn-secondary">
              Save role
            </button>
          </div>
        </form>
        <div class="action-list">
          {active && (
            <form class="action-row" {...action("password-reset")}>
              <span class="action-text">
                <strong>Password reset</strong>
                <span class="muted">Email them a link to choose a new password. You never see it.</span>
              </span>
              <button type="submit" class="btn btn-secondary btn-small">
                Send password reset
              </button>
            </form>
          )}
          {!self && (
            <form class="action-row" {...action("active")}>
              <input type="hidden" name="active" value={active ? "false" : "true"} />
              <span class="action-text">
                <strong>{active ? "Deactivate" : "Reactivate"}</strong>
                <span class="muted">
                  {active
                    ? "Signs them out everywhere at once; they cannot sign in until reactivated."
                    : "Lets them sign in again with their password."}
                </span>
              </span>
              <button type="submit" class={active ? "btn btn-danger btn-small" : "btn btn-primary btn-small"}>
                {active ? "Deactivate user" : "Reactivate user"}
              </button>
            </form>
          )}
          {!self && (
            <details class="confirm">
              <summary class="btn btn-danger btn-small">Delete user</summary>
              <div class="confirm-box">
                <p>
                  Delete <strong>{user.username}</strong>? Their account, sessions and authenticator are
                  removed for good; the audit log keeps its entries.
                </p>
                <form class="actions" {...action("delete")}>
                  <button type="submit" class="btn btn-danger btn-small">
                    Yes, delete
                  </button>
                  <button type="button" class="btn btn-secondary btn-small" data-close-details="">
                    Cancel
                  </button>
                </form>
              </div>
            </details>
          )}
        </div>
      </section>
      <SessionsCard
        sessions={sessions}
        endOne={null}
        endAll={{ href: `${path}/sessions/end`, label: "Sign out everywhere" }}
        title="Sessions"
        lead={`Where ${user.username} is signed in.`}
        target="#user-detail"
      />
    </div>
  );
}

/** Runs an admin action on the user and shows the panel again, with its outcome. */
async function act(c: UiContext, run: (user: User) => Promise<{ user?: User; notice: string }>) {
  const user = await targetOf(c);
  try {
    const done = await run(user);
    return fragment(c, await userPanel(c, done.user ?? user, { notice: done.notice }));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const fresh = await targetOf(c);
    return fragment(c, await userPanel(c, fresh, { error: describeError(error) }), error.status);
  }
}

userDetailRoutes.post("/users/:userID/role", ...adminOnly, async (c) => {
  const field = await formFields(c);
  const role = field("role") === "admin" ? "admin" : "member";
  const user = await targetOf(c);
  try {
    const ctx = await confirmIfAsked(signedInContext(c), field);
    const updated = await updateTenantUser(ctx, user, { role });
    const notice = updated.role === user.role ? "No change." : `${user.username} is now ${roleName(role)}.`;
    return fragment(c, await userPanel(c, updated, { notice }));
  } catch (error) {
    const confirm = confirmationError(error, field);
    if (confirm)
      return fragment(
        c,
        await userPanel(c, user, { confirm }),
        error instanceof ApiError ? error.status : 401,
      );
    if (!(error instanceof ApiError)) throw error;
    return fragment(c, await userPanel(c, await targetOf(c), { error: describeError(error) }), error.status);
  }
});

userDetailRoutes.post("/users/:userID/active", ...adminOnly, async (c) => {
  const field = await formFields(c);
  const change: UserChange = { active: field("active") === "true" };
  return act(c, async (user) => ({
    user: await updateTenantUser(signedInContext(c), user, change),
    notice: change.active
      ? `${user.username} is active again and can sign in.`
      : `${user.username} is deactivated and signed out everywhere.`,
  }));
});

userDetailRoutes.post("/users/:userID/password-reset", ...adminOnly, (c) =>
  act(c, async (user) => {
    await sendPasswordResetByAdmin(signedInContext(c), user);
    return { notice: `A password reset link is on its way to ${user.email}. It works for 30 minutes.` };
  }),
);

userDetailRoutes.post("/users/:userID/sessions/end", ...adminOnly, (c) =>
  act(c, async (user) => {
    await endUserSessions(signedInContext(c), user);
    return { notice: `${user.username} is signed out everywhere.` };
  }),
);

userDetailRoutes.post("/users/:userID/delete", ...adminOnly, async (c) => {
  const user = await targetOf(c);
  try {
    await deleteTenantUser(signedInContext(c), user);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return fragment(c, await userPanel(c, await targetOf(c), { error: describeError(error) }), error.status);
  }
  return redirect(c, "/ui/settings/users?notice=deleted");
});

function roleName(role: "admin" | "member"): string {
  return role === "admin" ? "an admin" : "a member";
}
