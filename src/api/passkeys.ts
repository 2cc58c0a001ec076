// The signed-in user's passkeys: registration options, register, list, rename, remove, and the
// options to confirm an action with one.
import * as z from "zod";
import {
  addPasskey,
  confirmOptions,
  listPasskeys,
  registrationOptions,
  removePasskey,
  renamePasskey,
} from "../auth/passkeys";
import { RegistrationCredential } from "../auth/webauthn";
import { signedInContext } from "../context";
import type { Passkey } from "../db/schema";
import { BackupCodes } from "./mfa";
import { createRoute, createRouter } from "./router";
import { ceremonySchema, PasskeyName, proofFields, proofInput, SecondFactorProof, User } from "./schemas";
import { isoTime, toCeremony, toPublicUser } from "./shapes";

export const passkeyRoutes = createRouter();

const PasskeyResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    created_at: z.string().meta({ format: "date-time" }),
    last_used_at: z.string().meta({ format: "date-time" }).nullable(),
    backup_eligible: z
      .boolean()
      .meta({ description: "A synced passkey (it can be backed up to a cloud account)" }),
    backed_up: z.boolean().meta({ description: "It was backed up when last used" }),
  })
  .meta({ id: "Passkey" });

function toPublicPasskey(passkey: Passkey) {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: isoTime(passkey.createdAt),
    last_used_at: isoTime(passkey.lastUsedAt),
    backup_eligible: passkey.backupEligible,
    backed_up: passkey.backedUp,
  };
}

const PasskeyParams = z.object({ passkeyID: z.string().min(1).max(64) });

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/passkeys/options",
    operationId: "passkeyRegistrationOptions",
    auth: "session-or-enrollment",
    summary: "Start adding a passkey: the options for navigator.credentials.create()",
    description:
      "Needs a fresh sign-in (401 reauthentication_required otherwise), as enabling TOTP does. With an enrollment token, the passkey can be the factor a user enrolls with.",
    responses: {
      200: {
        description: "A challenge for this session",
        content: {
          "application/json": {
            schema: ceremonySchema(
              "PasskeyCreationCeremony",
              "What PublicKeyCredential.parseCreationOptionsFromJSON takes: user verification required, resident key preferred, attestation none",
            ),
          },
        },
      },
    },
    errors: [409],
  }),
  async (c) => {
    const ceremony = await registrationOptions(signedInContext(c));
    return c.json(toCeremony(ceremony), 200);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/passkeys",
    operationId: "addPasskey",
    auth: "session-or-enrollment",
    summary: "Register a passkey, answering the options of this session",
    description:
      "The first factor a user adds turns MFA on and returns backup codes (shown this once); with an enrollment token it also returns a full session. Beside a factor already in force it needs a current one too (code, or mfa_passkey answering POST /mfa/passkeys/confirm-options), as a move to a new device does: a passkey signs in on its own.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                name: PasskeyName,
                credential: RegistrationCredential,
                ...proofFields("When MFA is on already"),
              })
              .strict()
              .meta({ id: "AddPasskeyRequest" }),
          },
        },
      },
    },
    responses: {
      201: {
        description: "The passkey is registered",
        content: {
          "application/json": {
            schema: z.object({
              passkey: PasskeyResponse,
              backup_codes: BackupCodes.optional().meta({ description: "When this passkey turned MFA on" }),
              token: z
                .string()
                .optional()
                .meta({ description: "With an enrollment token: the full session" }),
              expires_at: z.string().meta({ format: "date-time" }).optional(),
              user: User.optional(),
            }),
          },
        },
      },
    },
    errors: [409, 429],
  }),
  async (c) => {
    const body = c.req.valid("json");
    const added = await addPasskey(signedInContext(c), {
      name: body.name,
      credential: body.credential,
      proof: proofInput(body),
    });
    return c.json(
      {
        passkey: toPublicPasskey(added.passkey),
        ...(added.backupCodes ? { backup_codes: added.backupCodes } : {}),
        ...(added.session
          ? {
              token: added.session.token,
              expires_at: isoTime(added.session.expiresAt),
              user: toPublicUser(added.session.user),
            }
          : {}),
      },
      201,
    );
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/passkeys",
    operationId: "listPasskeys",
    auth: "session",
    summary: "The signed-in user's passkeys, oldest first",
    responses: {
      200: {
        description: "Passkeys",
        content: { "application/json": { schema: z.object({ passkeys: z.array(PasskeyResponse) }) } },
      },
    },
  }),
  async (c) => {
    const owned = await listPasskeys(c.var.db, c.var.auth.user.id);
    return c.json({ passkeys: owned.map(toPublicPasskey) }, 200);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/passkeys/{passkeyID}",
    operationId: "renamePasskey",
    auth: "session",
    summary: "Rename a passkey",
    request: {
      params: PasskeyParams,
      body: {
        required: true,
        content: { "application/json": { schema: z.object({ name: PasskeyName }).strict() } },
      },
    },
    responses: {
      200: {
        description: "Renamed",
        content: { "application/json": { schema: z.object({ passkey: PasskeyResponse }) } },
      },
    },
    errors: [404],
  }),
  async (c) => {
    const passkey = await renamePasskey(
      signedInContext(c),
      c.req.valid("param").passkeyID,
      c.req.valid("json").name,
    );
    return c.json({ passkey: toPublicPasskey(passkey) }, 200);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/passkeys/{passkeyID}",
    operationId: "removePasskey",
    auth: "session",
    summary: "Remove a passkey, with a current second factor",
    description:
      "Removing the last factor (no TOTP, no other passkey) turns MFA off and is refused (403 mfa_enforced) while the tenant requires MFA.",
    request: {
      params: PasskeyParams,
      body: { required: true, content: { "application/json": { schema: SecondFactorProof } } },
    },
    responses: {
      200: {
        description: "Removed",
        content: { "application/json": { schema: z.object({ mfa_enabled: z.boolean() }) } },
      },
    },
    errors: [404, 409, 429],
  }),
  async (c) => {
    const ctx = signedInContext(c);
    const mfaEnabled = await removePasskey(
      ctx,
      c.req.valid("param").passkeyID,
      proofInput(c.req.valid("json")),
    );
    return c.json({ mfa_enabled: mfaEnabled }, 200);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/passkeys/confirm-options",
    operationId: "passkeyConfirmOptions",
    auth: "session",
    summary: "Options to confirm an action with a passkey (mfa_passkey in place of a code)",
    responses: {
      200: {
        description: "A challenge for this session",
        content: {
          "application/json": {
            schema: ceremonySchema(
              "PasskeyRequestCeremony",
              "What PublicKeyCredential.parseRequestOptionsFromJSON takes",
            ),
          },
        },
      },
    },
    errors: [409],
  }),
  async (c) => {
    const ceremony = await confirmOptions(signedInContext(c));
    return c.json(toCeremony(ceremony), 200);
  },
);
