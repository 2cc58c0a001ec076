// Tenant admins manage their users: list and create them, change their role, deactivate,
// reactivate and delete them, send them a password reset link, see and end their sessions.
import * as z from "zod";
import { addTenantUser, deleteTenantUser, updateTenantUser } from "../admin/users";
import { sendPasswordResetByAdmin } from "../auth/password-reset";
import { endUserSessions, sessionsOf } from "../auth/session-list";
import { findTenantUser, listUsers } from "../auth/users";
import { signedInContext } from "../context";
import { createRoute, createRouter } from "./router";
import {
  Cursor,
  Email,
  encodeCursor,
  NewPassword,
  PageLimit,
  Role,
  SessionList,
  TenantParams,
  User,
  Username,
} from "./schemas";
import { toPublicSession, toPublicUser } from "./shapes";

export const userRoutes = createRouter();

const CreateUserRequest = z
  .object({
    username: Username,
    email: Email,
    password: NewPassword,
    role: Role.default("member"),
  })
  .strict()
  .meta({ id: "CreateUserRequest" });

userRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{tenantID}/users",
    operationId: "createUser",
    auth: "tenant-admin",
    summary: "Create a user in the tenant",
    description:
      "Creating an admin needs a session signed in (or re-authenticated) within the last 10 minutes: an older one is answered 401 reauthentication_required.",
    request: {
      params: TenantParams,
      body: { required: true, content: { "application/json": { schema: CreateUserRequest } } },
    },
    responses: {
      201: { description: "Created", content: { "application/json": { schema: z.object({ user: User }) } } },
    },
    errors: [409, 429],
  }),
  async (c) => {
    const user = await addTenantUser(signedInContext(c), c.req.valid("json"));
    return c.json({ user: toPublicUser(user) }, 201);
  },
);

userRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/users",
    operationId: "listUsers",
    auth: "tenant-admin",
    summary: "List the tenant's users, a page at a time",
    request: {
      params: TenantParams,
      query: z.object({ limit: PageLimit, cursor: Cursor, mfa: z.enum(["enabled", "disabled"]).optional() }),
    },
    responses: {
      200: {
        description: "One page of users",
        content: {
          "application/json": {
            schema: z.object({ users: z.array(User), next_cursor: z.string().nullable() }),
          },
        },
      },
    },
  }),
  async (c) => {
    const { tenantID } = c.req.valid("param");
    const query = c.req.valid("query");
    const page = await listUsers(c.var.db, tenantID, query);
    return c.json({ users: page.users.map(toPublicUser), next_cursor: encodeCursor(page.nextCursor) }, 200);
  },
);

const UserParams = TenantParams.extend({ userID: z.string().min(1).max(100) });

const UserPatch = z
  .object({
    role: Role.optional(),
    active: z.boolean().optional().meta({ description: "false deactivates the user, true reactivates them" }),
  })
  .strict()
  .meta({ id: "UserPatch" });

userRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{tenantID}/users/{userID}",
    operationId: "updateUser",
    auth: "tenant-admin",
    summary: "Change a user's role, or deactivate or reactivate them",
    description:
      "Deactivating ends the user's sessions at once; they then sign in like an unknown user, get no reminders and count nowhere on the dashboard. An admin cannot deactivate themselves (409 own_account), and the tenant's last active admin cannot be demoted or deactivated (409 last_admin). Making someone an admin needs a fresh sign-in (401 reauthentication_required).",
    request: {
      params: UserParams,
      body: { required: true, content: { "application/json": { schema: UserPatch } } },
    },
    responses: {
      200: {
        description: "The user as they are now",
        content: { "application/json": { schema: z.object({ user: User }) } },
      },
    },
    errors: [404, 409],
  }),
  async (c) => {
    const { tenantID, userID } = c.req.valid("param");
    const ctx = signedInContext(c);
    const user = await updateTenantUser(
      ctx,
      await findTenantUser(ctx.db, tenantID, userID),
      c.req.valid("json"),
    );
    return c.json({ user: toPublicUser(user) }, 200);
  },
);

userRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{tenantID}/users/{userID}",
    operationId: "deleteUser",
    auth: "tenant-admin",
    summary: "Delete a user",
    description:
      "Removes the account and its personal data (sessions, factors, reset links); audit events stay, naming the user by id. Not yourself (409 own_account), not the last active admin (409 last_admin).",
    request: { params: UserParams },
    responses: { 204: { description: "Deleted" } },
    errors: [404, 409],
  }),
  async (c) => {
    const { tenantID, userID } = c.req.valid("param");
    const ctx = signedInContext(c);
    await deleteTenantUser(ctx, await findTenantUser(ctx.db, tenantID, userID));
    return c.body(null, 204);
  },
);

userRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{tenantID}/users/{userID}/password-reset",
    operationId: "sendPasswordReset",
    auth: "tenant-admin",
    summary: "Email the user a password reset link",
    description:
      "The same link as Forgot password: it works once, for 30 minutes, and the admin never sees it. At most 3 links per user an hour (429).",
    request: { params: UserParams },
    responses: { 202: { description: "The link is on its way" } },
    errors: [404, 409, 429],
  }),
  async (c) => {
    const { tenantID, userID } = c.req.valid("param");
    const ctx = signedInContext(c);
    await sendPasswordResetByAdmin(ctx, await findTenantUser(ctx.db, tenantID, userID));
    return c.body(null, 202);
  },
);

userRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{tenantID}/users/{userID}/sessions",
    operationId: "listUserSessions",
    auth: "tenant-admin",
    summary: "A user's live sessions",
    request: { params: UserParams },
    responses: {
      200: { description: "The user's sessions", content: { "application/json": { schema: SessionList } } },
    },
    errors: [404],
  }),
  async (c) => {
    const { tenantID, userID } = c.req.valid("param");
    const user = await findTenantUser(c.var.db, tenantID, userID);
    const sessions = await sessionsOf(c.var.db, user.id, c.var.auth.session.id);
    return c.json({ sessions: sessions.map(toPublicSession) }, 200);
  },
);

userRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{tenantID}/users/{userID}/sessions",
    operationId: "endUserSessions",
    auth: "tenant-admin",
    summary: "End every session of a user",
    request: { params: UserParams },
    responses: { 204: { description: "The user's sessions have ended" } },
    errors: [404],
  }),
  async (c) => {
    const { tenantID, userID } = c.req.valid("param");
    const ctx = signedInContext(c);
    await endUserSessions(ctx, await findTenantUser(ctx.db, tenantID, userID));
    return c.body(null, 204);
  },
);
