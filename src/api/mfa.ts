// The signed-in user's MFA: setup, verify, disable, backup codes, status.

import * as z from "zod";
import { enforcementDeadline, enforcementFor } from "../auth/enforcement";
import {
  countUnusedBackupCodes,
  disableMfa,
  regenerateBackupCodes,
  startSetup,
  verifySetup,
} from "../auth/mfa";
import { now } from "../clock";
import { signedInContext } from "../context";
import { createRoute, createRouter } from "./router";
import { MfaCode, proofFields, proofInput, SecondFactorProof, User } from "./schemas";
import { isoTime, toPublicUser } from "./shapes";

export const mfaRoutes = createRouter();

const CodeRequest = z.object({ code: MfaCode }).strict().meta({ id: "CodeRequest" });
export const BackupCodes = z.array(z.string().regex(/^\d{8}$/)).length(10);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/setup",
    operationId: "startMfaSetup",
    auth: "session-or-enrollment",
    summary: "Start enrollment (or a move to a new device, with a current second factor)",
    description:
      "With MFA already on (TOTP or a passkey), send a current code or a passkey assertion (mfa_passkey).",
    request: {
      body: {
        required: false,
        content: {
          "application/json": {
            schema: z.object(proofFields("When MFA is on already")).strict(),
          },
        },
      },
    },
    responses: {
      200: {
        description: "The new secret, pending until verify",
        content: {
          "application/json": {
            schema: z
              .object({
                secret: z.string().meta({ description: "base32, 160 bits" }),
                qr_code: z.string().meta({ description: "data:image/png;base64,… encoding otpauth_uri" }),
                otpauth_uri: z.string(),
                backup_codes: BackupCodes,
              })
              .meta({ id: "MfaSetup" }),
          },
        },
      },
    },
    errors: [429],
  }),
  async (c) => {
    const setup = await startSetup(signedInContext(c), proofInput(c.req.valid("json")));
    return c.json(
      {
        secret: setup.secret,
        qr_code: setup.qrCode,
        otpauth_uri: setup.otpauthUri,
        backup_codes: setup.backupCodes,
      },
      200,
    );
  },
);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/verify",
    operationId: "verifyMfaSetup",
    auth: "session-or-enrollment",
    summary: "Confirm the pending secret with a code from it and turn MFA on",
    request: { body: { required: true, content: { "application/json": { schema: CodeRequest } } } },
    responses: {
      200: {
        description: "MFA is on; with an enrollment token, also a full session",
        content: {
          "application/json": {
            schema: z.object({
              mfa_enabled: z.literal(true),
              token: z.string().optional(),
              expires_at: z.string().optional(),
              user: User.optional(),
            }),
          },
        },
      },
    },
    errors: [409, 429],
  }),
  async (c) => {
    const { code } = c.req.valid("json");
    const { session } = await verifySetup(signedInContext(c), code);
    if (!session) return c.json({ mfa_enabled: true as const }, 200);
    return c.json(
      {
        mfa_enabled: true as const,
        token: session.token,
        expires_at: isoTime(session.expiresAt),
        user: toPublicUser(session.user),
      },
      200,
    );
  },
);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/disable",
    operationId: "disableMfa",
    auth: "session",
    summary: "Turn MFA off (TOTP and every passkey) with a current second factor",
    request: { body: { required: true, content: { "application/json": { schema: SecondFactorProof } } } },
    responses: {
      200: {
        description: "MFA is off, TOTP and passkeys removed; the user's other sessions have ended",
        content: { "application/json": { schema: z.object({ mfa_enabled: z.literal(false) }) } },
      },
    },
    errors: [409, 429],
  }),
  async (c) => {
    await disableMfa(signedInContext(c), proofInput(c.req.valid("json")));
    return c.json({ mfa_enabled: false as const }, 200);
  },
);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/backup-codes",
    operationId: "regenerateBackupCodes",
    auth: "session",
    summary: "Replace all backup codes, with a current second factor",
    request: { body: { required: true, content: { "application/json": { schema: SecondFactorProof } } } },
    responses: {
      200: {
        description: "The new codes, shown this once",
        content: { "application/json": { schema: z.object({ backup_codes: BackupCodes }) } },
      },
    },
    errors: [409, 429],
  }),
  async (c) => {
    const codes = await regenerateBackupCodes(signedInContext(c), proofInput(c.req.valid("json")));
    return c.json({ backup_codes: codes }, 200);
  },
);

mfaRoutes.openapi(
  createRoute({
    method: "get",
    path: "/status",
    operationId: "getMfaStatus",
    auth: "session",
    summary: "The signed-in user's MFA state",
    responses: {
      200: {
        description: "MFA state",
        content: {
          "application/json": {
            schema: z
              .object({
                mfa_enabled: z.boolean(),
                enabled_at: z.string().nullable(),
                backup_codes_remaining: z.number().int(),
                enforcement: z.object({
                  required: z.boolean(),
                  deadline: z.string().optional(),
                  days_remaining: z.number().int().optional(),
                }),
              })
              .meta({ id: "MfaStatus" }),
          },
        },
      },
    },
  }),
  async (c) => {
    const { user, tenant } = c.var.auth;
    const remaining = user.mfaEnabledAt === null ? 0 : await countUnusedBackupCodes(c.var.db, user.id);
    const enforcement = enforcementFor(tenant, user, now());
    const deadline = enforcementDeadline(enforcement);
    return c.json(
      {
        mfa_enabled: user.mfaEnabledAt !== null,
        enabled_at: isoTime(user.mfaEnabledAt),
        backup_codes_remaining: remaining,
        enforcement: {
          required: tenant.mfaRequired,
          ...(deadline === null
            ? {}
            : {
                deadline: isoTime(deadline),
                days_remaining: enforcement.kind === "grace" ? enforcement.daysRemaining : 0,
              }),
        },
      },
      200,
    );
  },
);
