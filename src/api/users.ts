// Tenant admins manage their users: GET and POST /tenants/{tenantID}/users.
import * as z from "zod";
import { addTenantUser } from "../admin/users";
import { listUsers } from "../auth/users";
import { signedInContext } from "../context";
import { createRoute, createRouter } from "./router";
import {
  Cursor,
  Email,
  encodeCursor,
  NewPassword,
  PageLimit,
  Role,
  TenantParams,
  User,
  Username,
} from "./schemas";
import { toPublicUser } from "./shapes";

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
