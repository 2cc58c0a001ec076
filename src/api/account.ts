// The signed-in user's own account: changing the password, a forgotten password, and their sessions.
import * as z from "zod";
import { changePassword } from "../auth/password-change";
import { requestPasswordReset, resetPassword } from "../auth/password-reset";
import { endOtherSessions, endOwnSession, sessionsOf } from "../auth/session-list";
import { requestContext, signedInContext } from "../context";
import { createRoute, createRouter } from "./router";
import {
  NewPassword,
  proofFields,
  proofInput,
  SessionList,
  SignInPassword,
  SignInUsername,
  TenantId,
} from "./schemas";
import { toPublicSession } from "./shapes";

export const accountRoutes = createRouter();

accountRoutes.openapi(
  createRoute({
    method: "post",
    path: "/password",
    operationId: "changePassword",
    auth: "session",
    summary: "Change your password",
    description:
      "Needs the current password and, when MFA is on, a current code. Every other session ends, every reset link stops working, and the user gets an email.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                current_password: SignInPassword,
                new_password: NewPassword,
                ...proofFields("Required when MFA is on"),
              })
              .strict()
              .meta({ id: "ChangePasswordRequest" }),
          },
        },
      },
    },
    responses: { 204: { description: "Changed; this session stays signed in" } },
    errors: [429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    await changePassword(signedInContext(c), {
      currentPassword: body.current_password,
      newPassword: body.new_password,
      ...proofInput(body),
    });
    return c.body(null, 204);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "post",
    path: "/password/forgot",
    operationId: "requestPasswordReset",
    auth: "none",
    summary: "Email a password reset link",
    description:
      "Always 202, whether or not the account exists: when it does and is active, its address gets a link that works once, for 30 minutes. At most 3 links per account an hour; an address that asks too often is answered 429.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({ tenant_id: TenantId, username: SignInUsername })
              .strict()
              .meta({ id: "ForgotPasswordRequest" }),
          },
        },
      },
    },
    responses: { 202: { description: "If the account exists, a link is on its way" } },
    errors: [429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    await requestPasswordReset(requestContext(c), { tenantId: body.tenant_id, username: body.username });
    return c.body(null, 202);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "post",
    path: "/password/reset",
    operationId: "resetPassword",
    auth: "none",
    summary: "Set a new password with the token of a reset link",
    description:
      "Spends the link and ends every session of the user. Signs nobody in: the next sign-in asks for the second factor as always.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                token: z.string().min(1).max(200).meta({ description: "From the link in the email" }),
                new_password: NewPassword,
              })
              .strict()
              .meta({ id: "ResetPasswordRequest" }),
          },
        },
      },
    },
    responses: { 204: { description: "The password is set; sign in with it" } },
  }),
  async (c) => {
    const body = c.req.valid("json");
    await resetPassword(requestContext(c), { token: body.token, newPassword: body.new_password });
    return c.body(null, 204);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "get",
    path: "/sessions",
    operationId: "listSessions",
    auth: "session",
    summary: "Your live sessions",
    responses: {
      200: { description: "Your sessions", content: { "application/json": { schema: SessionList } } },
    },
  }),
  async (c) => {
    const { user, session } = c.var.auth;
    const sessions = await sessionsOf(c.var.db, user.id, session.id);
    return c.json({ sessions: sessions.map(toPublicSession) }, 200);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/sessions",
    operationId: "endOtherSessions",
    auth: "session",
    summary: "End every session but this one",
    responses: { 204: { description: "The other sessions have ended" } },
  }),
  async (c) => {
    await endOtherSessions(signedInContext(c));
    return c.body(null, 204);
  },
);

accountRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/sessions/{sessionID}",
    operationId: "endSession",
    auth: "session",
    summary: "End one of your sessions",
    description: "Ending the current one signs this client out.",
    request: { params: z.object({ sessionID: z.string().min(1).max(100) }) },
    responses: { 204: { description: "The session has ended" } },
    errors: [404],
  }),
  async (c) => {
    await endOwnSession(signedInContext(c), c.req.valid("param").sessionID);
    return c.body(null, 204);
  },
);
