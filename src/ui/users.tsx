// Settings → Users: the tenant's users with their MFA state, creating a user, and an admin's MFA
// reset behind a confirmation.
import { Hono } from "hono";
import * as z from "zod";
import { resetUserMfa } from "../admin/reset";
import { addTenantUser } from "../admin/users";
import { Email, NewPassword, Role, Username } from "../api/schemas";
import { enforcementFor } from "../auth/enforcement";
import { findTenant, findTenantUser, listUsers } from "../auth/users";
import { now } from "../clock";
import { type AppEnv, requestContext, signedInContext } from "../context";
import type { Tenant, User } from "../db/schema";
import { ApiError } from "../errors";
import { adminOnly, nextPageQuery, PAGE_SIZE } from "./admin";
import { Alert, Icon, LoadMoreRow, Pill, TextField } from "./components";
import { describeError, showErrorsInPlace } from "./errors";
import { formFields, fragment, page, type UiContext } from "./http";
import { AppPage, PageHeader, SettingsTabs } from "./layout";
import { viewerOf } from "./profile";
import { type ConfirmationErrors, ConfirmIdentity, confirmationError, confirmIfAsked } from "./reauth";

export const userRoutes = new Hono<AppEnv>();

/** Messages a redirect back to the list may carry; only these keys are ever shown. */
const NOTICES: Record<string, string> = {
  deleted: "The user was deleted. Their entries in the audit log remain.",
};

userRoutes.get("/users", ...adminOnly, async (c) => {
  const viewer = viewerOf(c);
  const notice = NOTICES[c.req.query("notice") ?? ""];
  return page(
    c,
    <AppPage viewer={viewer} title="Users" section="settings">
      <PageHeader title="Settings" lead={`How people in ${viewer.tenant.name} sign in.`} />
      <SettingsTabs current="users" />
      {notice && <Alert tone="success">{notice}</Alert>}
      {await usersPanel(c, {})}
    </AppPage>,
  );
});

userRoutes.get("/users/rows", ...adminOnly, async (c) => {
  const { users, nextCursor } = await listUsers(c.var.db, c.var.auth.tenant.id, {
    limit: PAGE_SIZE,
    cursor: c.req.query("cursor")?.slice(0, 400),
  });
  return fragment(
    c,
    <UserRows
      users={users}
      tenant={c.var.auth.tenant}
      self={c.var.auth.user.id}
      next={nextPageQuery(nextCursor)}
    />,
  );
});

const NewUserForm = z.object({
  username: Username,
  email: Email,
  password: NewPassword,
  role: Role,
});

type NewUserErrors = Partial<Record<keyof z.infer<typeof NewUserForm>, string>>;

userRoutes.post("/users", ...adminOnly, async (c) => {
  const field = await formFields(c);
  const values = {
    username: field("username"),
    email: field("email").trim(),
    password: field("password"),
    role: field("role") || "member",
  };
  const parsed = NewUserForm.safeParse(values);
  if (!parsed.success) {
    const errors: NewUserErrors = {};
    for (const issue of parsed.error.issues) {
      const name = issue.path[0] as keyof NewUserErrors;
      errors[name] = FIELD_ERRORS[name];
    }
    return fragment(c, await usersPanel(c, { values, errors }), 422);
  }
  try {
    const user = await addTenantUser(await confirmIfAsked(signedInContext(c), field), parsed.data);
    return fragment(c, await usersPanel(c, { created: user }));
  } catch (error) {
    const confirm = confirmationError(error, field);
    if (confirm) {
      return showErrorsInPlace(c, error, () => usersPanel(c, { values, errors: {}, confirm }));
    }
    if (error instanceof ApiError && error.code === "weak_password") {
      return fragment(c, await usersPanel(c, { values, errors: { password: describeError(error) } }), 400);
    }
    if (!(error instanceof ApiError) || error.code !== "username_taken") throw error;
    return fragment(c, await usersPanel(c, { values, errors: { username: describeError(error) } }), 409);
  }
});

userRoutes.post("/users/:userID/reset-mfa", ...adminOnly, async (c) => {
  const { user: admin, tenant } = c.var.auth;
  try {
    const ctx = { ...requestContext(c), tenant, actor: { kind: "admin" as const, user: admin } };
    const target = await resetUserMfa(
      ctx,
      await findTenantUser(c.var.db, tenant.id, c.req.param("userID").slice(0, 64)),
    );
    return fragment(c, <UserRow user={target} tenant={tenant} self={admin.id} notice="MFA reset" />);
  } catch (error) {
    // The button swaps its row: a refusal must arrive as a message above the list, since anything
    // but a row swapped into the table would vanish (and take the row with it).
    return showErrorsInPlace(c, error, (message) => {
      c.header("HX-Retarget", "#users-notice");
      c.header("HX-Reswap", "innerHTML");
      return <Alert tone="error">{message}</Alert>;
    });
  }
});

const FIELD_ERRORS: Required<NewUserErrors> = {
  username: "Use 1 to 64 letters, digits or . _ @ + - (no spaces).",
  email: "Enter an email address.",
  password: "Use 8 to 128 characters.",
  role: "Choose Member or Admin.",
};

interface PanelState {
  values?: Record<keyof NewUserErrors, string>;
  errors?: NewUserErrors;
  created?: User;
  /** Creating an admin asked the signed-in admin to confirm it is them. */
  confirm?: ConfirmationErrors;
}

/**
 * The list and the create form, re-rendered whole after a create so the new user shows in order;
 * the tenant's counts are read with the list, so they include a user just created.
 */
async function usersPanel(c: UiContext, state: PanelState) {
  const { user: self } = c.var.auth;
  const [{ users, nextCursor }, tenant] = await Promise.all([
    listUsers(c.var.db, c.var.auth.tenant.id, { limit: PAGE_SIZE }),
    findTenant(c.var.db, c.var.auth.tenant.id),
  ]);
  return (
    <div id="users-panel" class="users-layout">
      <section class="card" aria-labelledby="users-title">
        <div class="card-title-row">
          <h2 id="users-title">Users</h2>
          <span class="muted">
            {tenant.userCount} total · {tenant.enrolledCount} with MFA
          </span>
        </div>
        {state.created && (
          <Alert tone="success">
            Created <strong>{state.created.username}</strong>. They can sign in now
            {tenant.mfaRequired ? " and will be asked to set up two-step verification first." : "."}
          </Alert>
        )}
        <div id="users-notice" aria-live="polite"></div>
        <table class="table">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">MFA</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody id="user-rows">
            <UserRows users={users} tenant={tenant} self={self.id} next={nextPageQuery(nextCursor)} />
          </tbody>
        </table>
      </section>
      <CreateUserCard
        values={state.created ? undefined : state.values}
        errors={state.errors ?? {}}
        confirm={state.confirm}
        withCode={self.mfaEnabledAt !== null}
      />
    </div>
  );
}

const UserRows = ({
  users,
  tenant,
  self,
  next,
}: {
  users: User[];
  tenant: Tenant;
  self: string;
  next: string | null;
}) => (
  <>
    {users.map((user) => (
      <UserRow user={user} tenant={tenant} self={self} />
    ))}
    {next && <LoadMoreRow href={`/ui/settings/users/rows?${next}`} columns={4} />}
  </>
);

const UserRow = ({
  user,
  tenant,
  self,
  notice,
}: {
  user: User;
  tenant: Tenant;
  self: string;
  notice?: string;
}) => {
  const enforcement = enforcementFor(tenant, user, now());
  return (
    <tr id={`user-${user.id}`}>
      <td data-label="User">
        <span class="cell-title">
          {user.username}
          {user.id === self && <span class="muted"> (you)</span>}
        </span>
        <span class="muted">{user.email}</span>
      </td>
      <td data-label="Role">
        {user.role === "admin" ? "Admin" : "Member"}
        {user.deactivatedAt !== null && (
          <>
            {" "}
            <Pill tone="neutral">Deactivated</Pill>
          </>
        )}
      </td>
      <td data-label="MFA">
        {user.mfaEnabledAt !== null ? (
          <Pill tone="success">On</Pill>
        ) : enforcement.kind === "blocked" ? (
          <Pill tone="error">Off · must enroll</Pill>
        ) : enforcement.kind === "grace" ? (
          <Pill tone="warning">Off · in grace</Pill>
        ) : (
          <Pill tone="neutral">Off</Pill>
        )}
        {notice && (
          <span class="row-notice" role="status">
            <Icon name="check" /> {notice}
          </span>
        )}
      </td>
      <td class="row-actions">
        {user.mfaEnabledAt !== null && user.id !== self && <ResetMfa user={user} />}
        <a
          class="btn btn-secondary btn-small"
          href={`/ui/settings/users/${encodeURIComponent(user.id)}`}
          aria-label={`Manage ${user.username}`}
        >
          Manage
        </a>
      </td>
    </tr>
  );
};

/** The reset asks first, in place: the row opens a confirmation with what will happen. */
const ResetMfa = ({ user }: { user: User }) => (
  <details class="confirm">
    <summary class="btn btn-secondary btn-small">Reset MFA</summary>
    <div class="confirm-box">
      <p>
        Reset MFA for <strong>{user.username}</strong>? Their authenticator app and backup codes stop working,
        they are signed out everywhere and must set up two-step verification again. They will get an email.
      </p>
      <div class="actions">
        <button
          type="button"
          class="btn btn-danger btn-small"
          hx-post={`/ui/settings/users/${encodeURIComponent(user.id)}/reset-mfa`}
          hx-target="closest tr"
          hx-swap="outerHTML"
        >
          Yes, reset MFA
        </button>
        <button type="button" class="btn btn-secondary btn-small" data-close-details="">
          Cancel
        </button>
      </div>
    </div>
  </details>
);

const CreateUserCard = ({
  values,
  errors,
  confirm,
  withCode,
}: {
  values: Record<keyof NewUserErrors, string> | undefined;
  errors: NewUserErrors;
  confirm: ConfirmationErrors | undefined;
  withCode: boolean;
}) => (
  <section class="card" aria-labelledby="create-title">
    <h2 id="create-title">Create user</h2>
    <form
      class="stack"
      method="post"
      action="/ui/settings/users"
      hx-post="/ui/settings/users"
      hx-target="#users-panel"
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      <TextField
        id="new-username"
        name="username"
        label="Username"
        value={values?.username}
        error={errors.username}
        autocomplete="off"
        maxlength={64}
      />
      <TextField
        id="new-email"
        name="email"
        label="Email"
        type="email"
        value={values?.email}
        error={errors.email}
        autocomplete="off"
        maxlength={254}
      />
      <TextField
        id="new-password"
        name="password"
        label="Initial password"
        type="password"
        hint="8 to 128 characters, not a common one. Share it over a channel you trust, or send them a password reset link once they exist."
        error={errors.password}
        autocomplete="new-password"
        minlength={8}
        maxlength={128}
      />
      <div class="field">
        <label for="new-role">Role</label>
        <select id="new-role" name="role">
          <option value="member" selected={values?.role !== "admin"}>
            Member
          </option>
          <option value="admin" selected={values?.role === "admin"}>
            Admin
          </option>
        </select>
      </div>
      {confirm && (
        <ConfirmIdentity
          withCode={withCode}
          errors={confirm}
          intro="You signed in a while ago. Creating an admin needs your password again."
        />
      )}
      <div class="actions">
        <button type="submit" class="btn btn-primary">
          Create user
        </button>
      </div>
    </form>
  </section>
);
