// POST /auth/login, POST /auth/logout, GET /auth/me.
import * as z from "zod";
import { enforcementFor, enrollmentNotice } from "../auth/enforcement";
import { signIn } from "../auth/login";
import { revokeSession } from "../auth/sessions";
import { toPublicUser } from "../auth/users";
import { now } from "../clock";
import { requestContext } from "../context";
import { requireAuth } from "../middleware/session";
import { createRoute, createRouter } from "./openapi";
import {
  bearerSecurity,
  EnrollmentNotice,
  errorResponses,
  SignInPassword,
  SignInUsername,
  TenantId,
  User,
} from "./schemas";

export const authRoutes = createRouter();

const LoginRequest = z
  .object({
    username: SignInUsername,
    password: SignInPassword,
    tenant_id: TenantId,
    mfa_code: z.string().max(64).optional().meta({
      description: "A 6-digit TOTP code or an unused 8-digit backup code; spaces and dashes are ignored",
    }),
  })
  .strict()
  .meta({ id: "LoginRequest" });

const SessionResponse = z
  .object({
    token: z.string(),
    expires_at: z.string().meta({ format: "date-time" }),
    user: User,
    mfa_enrollment: EnrollmentNotice.optional(),
  })
  .meta({ id: "Session" });

const MfaRequiredResponse = z
  .object({ mfa_required: z.literal(true), user: User })
  .meta({ id: "MfaRequired" });

const EnrollmentRequiredResponse = z
  .object({ mfa_enrollment_required: z.literal(true), enrollment_token: z.string(), user: User })
  .meta({
    id: "EnrollmentRequired",
    description:
      "The tenant requires MFA now: the token opens only POST /mfa/setup and /mfa/verify (15 minutes)",
  });

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/login",
    summary: "Sign in with a password and, when MFA is on, a TOTP or backup code",
    request: { body: { required: true, content: { "application/json": { schema: LoginRequest } } } },
    responses: {
      200: {
        description: "A session, or a request for the second factor",
        content: {
          "application/json": {
            schema: z.union([SessionResponse, MfaRequiredResponse, EnrollmentRequiredResponse]),
          },
        },
      },
      ...errorResponses(400, 401, 429, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const result = await signIn(requestContext(c), {
      tenantId: body.tenant_id,
      username: body.username,
      password: body.password,
      mfaCode: body.mfa_code,
    });
    const user = toPublicUser(result.user);
    switch (result.kind) {
      case "mfa_required":
        return c.json({ mfa_required: true as const, user }, 200);
      case "enrollment_required":
        return c.json(
          { mfa_enrollment_required: true as const, enrollment_token: result.enrollmentToken, user },
          200,
        );
      case "session": {
        const notice = enrollmentNotice(result.enforcement);
        const session = { token: result.token, expires_at: new Date(result.expiresAt).toISOString(), user };
        return c.json(notice ? { ...session, mfa_enrollment: notice } : session, 200);
      }
    }
  },
);

authRoutes.use("/logout", requireAuth());
authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/logout",
    summary: "End the current session",
    security: bearerSecurity,
    responses: { 204: { description: "The session has ended" }, ...errorResponses(401) },
  }),
  async (c) => {
    await revokeSession(c.var.db, c.var.auth.session.id);
    return c.body(null, 204);
  },
);

authRoutes.use("/me", requireAuth());
authRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me",
    summary: "The signed-in user",
    security: bearerSecurity,
    responses: {
      200: {
        description: "The user, and the grace countdown while MFA enrollment is due",
        content: {
          "application/json": {
            schema: z.object({ user: User, mfa_enrollment: EnrollmentNotice.optional() }),
          },
        },
      },
      ...errorResponses(401),
    },
  }),
  (c) => {
    const { user, tenant } = c.var.auth;
    const notice = enrollmentNotice(enforcementFor(tenant, user, now()));
    return c.json({ user: toPublicUser(user), ...(notice ? { mfa_enrollment: notice } : {}) }, 200);
  },
);
