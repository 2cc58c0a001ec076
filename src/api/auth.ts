// POST /auth/login, POST /auth/logout, GET /auth/me.
import * as z from "zod";
import { enforcementFor } from "../auth/enforcement";
import { type LoginResult, signIn, signInWithPasskey } from "../auth/login";
import { secondStepOptions, signInOptions } from "../auth/passkeys";
import { reauthenticate } from "../auth/reauthentication";
import { revokeSession } from "../auth/sessions";
import { AssertionCredential } from "../auth/webauthn";
import { now } from "../clock";
import { requestContext, signedInContext } from "../context";
import { createRoute, createRouter } from "./router";
import {
  ceremonySchema,
  EnrollmentNotice,
  MfaCode,
  PasskeyAssertion,
  proofFields,
  proofInput,
  SignInPassword,
  SignInUsername,
  TenantId,
  User,
} from "./schemas";
import { enrollmentNotice, isoTime, toCeremony, toPublicUser } from "./shapes";

export const authRoutes = createRouter();

const MfaToken = z
  .string()
  .min(1)
  .max(4096)
  .meta({ description: "From the mfa_required answer (5 minutes)" });

const PasswordLogin = z
  .object({
    username: SignInUsername,
    password: SignInPassword,
    tenant_id: TenantId,
    mfa_code: MfaCode.optional(),
    mfa_passkey: PasskeyAssertion.optional().meta({ description: "In place of mfa_code" }),
  })
  .strict()
  .refine((body) => body.mfa_code === undefined || body.mfa_passkey === undefined, {
    message: "send mfa_code or mfa_passkey, not both",
  })
  .meta({
    id: "PasswordLogin",
    description: "The documented sign-in: the password, and the code (or a passkey) too when MFA is on",
  });

const TokenLogin = z
  .object({
    username: SignInUsername,
    tenant_id: TenantId,
    mfa_token: MfaToken,
    mfa_code: MfaCode.optional(),
    mfa_passkey: PasskeyAssertion.optional().meta({ description: "In place of mfa_code" }),
  })
  .strict()
  .refine((body) => (body.mfa_code === undefined) !== (body.mfa_passkey === undefined), {
    message: "send either mfa_code or mfa_passkey",
  })
  .meta({
    id: "TokenLogin",
    description: "The second step without the password: the first step's mfa_token and the code or passkey",
  });

const LoginRequest = z.union([PasswordLogin, TokenLogin]).meta({ id: "LoginRequest" });

const SessionResponse = z
  .object({
    token: z.string(),
    expires_at: z.string().meta({ format: "date-time" }),
    user: User,
    mfa_enrollment: EnrollmentNotice.optional(),
  })
  .meta({ id: "Session" });

const MfaRequiredResponse = z
  .object({
    mfa_required: z.literal(true),
    user: User,
    mfa_token: z.string().meta({
      description: "Send it with mfa_code instead of the password (once, within 5 minutes)",
    }),
    mfa_token_expires_at: z.string().meta({ format: "date-time" }),
    factors: z.array(z.enum(["totp", "passkey"])).meta({
      description: "The second factors the user has: a TOTP code (or a backup code), a passkey",
    }),
  })
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
    operationId: "signIn",
    auth: "none",
    summary: "Sign in with a password and, when MFA is on, a TOTP or backup code",
    description:
      "With MFA on, a password without a code answers mfa_required with an mfa_token; the second request sends the code either with the password again (as documented) or with that token instead.",
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
    },
    errors: [401, 429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { code, passkey } = proofInput({ code: body.mfa_code, mfa_passkey: body.mfa_passkey });
    const result = await signIn(requestContext(c), {
      tenantId: body.tenant_id,
      username: body.username,
      mfaCode: code,
      mfaPasskey: passkey,
      ...("mfa_token" in body ? { mfaToken: body.mfa_token } : { password: body.password }),
    });
    return c.json(loginAnswer(result), 200);
  },
);

/** The answer of every sign-in, whichever way it was made. */
function loginAnswer(result: LoginResult) {
  const user = toPublicUser(result.user);
  switch (result.kind) {
    case "mfa_required":
      return {
        mfa_required: true as const,
        user,
        mfa_token: result.mfaToken,
        mfa_token_expires_at: isoTime(result.expiresAt),
        factors: result.factors,
      };
    case "enrollment_required":
      return { mfa_enrollment_required: true as const, enrollment_token: result.enrollmentToken, user };
    case "session": {
      const notice = enrollmentNotice(result.enforcement);
      const session = { token: result.token, expires_at: isoTime(result.expiresAt), user };
      return notice ? { ...session, mfa_enrollment: notice } : session;
    }
  }
}

const PasskeyOptionsRequest = z
  .object({
    tenant_id: TenantId,
    username: SignInUsername.optional(),
    mfa_token: MfaToken.optional(),
  })
  .strict()
  .refine((body) => (body.username === undefined) === (body.mfa_token === undefined), {
    message: "send username with the first step's mfa_token, or neither",
  })
  .meta({
    id: "PasskeyOptionsRequest",
    description:
      "Without a username: a discoverable-credential request, for signing in with a passkey alone. With one: that user's passkeys, for the second step; the first step's mfa_token must come with it, so that nobody learns whose passkeys they are without the password.",
  });

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/passkey/options",
    operationId: "passkeySignInOptions",
    auth: "none",
    summary: "The options for navigator.credentials.get() at sign-in",
    request: {
      body: { required: true, content: { "application/json": { schema: PasskeyOptionsRequest } } },
    },
    responses: {
      200: {
        description: "A challenge (single-use, 5 minutes) and the request options",
        content: {
          "application/json": {
            schema: ceremonySchema(
              "PasskeySignInCeremony",
              "What PublicKeyCredential.parseRequestOptionsFromJSON takes",
            ),
          },
        },
      },
    },
    errors: [401, 409, 429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const ctx = requestContext(c);
    const ceremony = body.mfa_token
      ? await secondStepOptions(ctx, { tenantId: body.tenant_id, mfaToken: body.mfa_token })
      : await signInOptions(ctx, body.tenant_id);
    return c.json(toCeremony(ceremony), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/passkey/login",
    operationId: "signInWithPasskey",
    auth: "none",
    summary: "Sign in with a passkey alone",
    description:
      "A passkey with user verification is MFA by itself: the answer is a session, with no code asked after it. Wrong answers count against the account like wrong codes.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                tenant_id: TenantId,
                challenge_id: z.string().min(1).max(64),
                credential: AssertionCredential,
              })
              .strict()
              .meta({ id: "PasskeyLoginRequest" }),
          },
        },
      },
    },
    responses: {
      200: {
        description: "A session",
        content: { "application/json": { schema: SessionResponse } },
      },
    },
    errors: [401, 429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const result = await signInWithPasskey(requestContext(c), {
      tenantId: body.tenant_id,
      challengeId: body.challenge_id,
      credential: body.credential,
    });
    return c.json(loginAnswer(result), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/logout",
    operationId: "signOut",
    auth: "session-or-enrollment",
    summary: "End the current session",
    responses: { 204: { description: "The session has ended" } },
  }),
  async (c) => {
    await revokeSession(c.var.db, c.var.auth.session.id);
    return c.body(null, 204);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/reauthenticate",
    operationId: "reauthenticate",
    auth: "session-or-enrollment",
    summary: "Prove the password again (and a code when MFA is on) before adding a factor",
    description:
      "Turning MFA on needs a session whose password was proved within the last 10 minutes; an older session is answered 401 reauthentication_required and calls this first. Counts against the same attempt budgets as sign-in.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                password: SignInPassword,
                ...proofFields("Required when MFA is on"),
              })
              .strict()
              .meta({ id: "ReauthenticateRequest" }),
          },
        },
      },
    },
    responses: {
      200: {
        description: "The session counts as freshly signed in until fresh_until",
        content: {
          "application/json": {
            schema: z.object({ fresh_until: z.string().meta({ format: "date-time" }) }),
          },
        },
      },
    },
    errors: [429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { freshUntil } = await reauthenticate(signedInContext(c), {
      password: body.password,
      ...proofInput(body),
    });
    return c.json({ fresh_until: isoTime(freshUntil) }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me",
    operationId: "getMe",
    auth: "session",
    summary: "The signed-in user",
    responses: {
      200: {
        description: "The user, and the grace countdown while MFA enrollment is due",
        content: {
          "application/json": {
            schema: z.object({ user: User, mfa_enrollment: EnrollmentNotice.optional() }),
          },
        },
      },
    },
  }),
  (c) => {
    const { user, tenant } = c.var.auth;
    const notice = enrollmentNotice(enforcementFor(tenant, user, now()));
    return c.json({ user: toPublicUser(user), ...(notice ? { mfa_enrollment: notice } : {}) }, 200);
  },
);
