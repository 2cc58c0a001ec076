// The zod schemas shared by the routes and the OpenAPI document.
import * as z from "zod";
import { PASSKEY_NAME_MAX_LENGTH } from "../auth/passkeys";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../auth/password";
import { USERNAME_MAX_LENGTH, usernameProblem } from "../auth/usernames";
import { AssertionCredential } from "../auth/webauthn";
import { fromBase64Url, toBase64Url } from "../encoding";

export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, "must be a slug: lowercase letters, digits and dashes, 2 to 63 long")
  .meta({ examples: ["demo"] });

export const TenantParams = z.object({
  tenantID: TenantId,
});

export const Username = z
  .string()
  .trim()
  .min(1)
  .max(USERNAME_MAX_LENGTH)
  .superRefine((name, ctx) => {
    const problem = usernameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({
    examples: ["alice"],
    description:
      "Letters and digits of one script (Unicode, NFKC), and . _ @ + -; unique per tenant whatever its case or width",
  });

/** An organisation's name as people see it (and as email subjects carry it): one line of text. */
export const TenantName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}\p{Cf}\u2028\u2029]+$/u, "must be one line of text, without control characters");

/**
 * A password being set. The server also refuses (400 weak_password) one on its list of common
 * passwords or one containing the username or the organisation's name.
 */
export const NewPassword = z
  .string()
  .meta({
    description:
      "8 to 128 characters, any; refused with weak_password when it is a commonly used password or contains the username or the organisation's name",
  })
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`);

export const Role = z.enum(["admin", "member"]);

export const Email = z.email().max(254);

/** A tenant and its first admin, as the operator CLI creates them (there is no API for it). */
export const NewTenant = z.object({
  tenant_id: TenantId,
  name: TenantName,
  username: Username,
  email: Email,
  password: NewPassword,
});

/** A username as typed at sign-in: only bounded, since an unknown one must fail like a wrong password. */
export const SignInUsername = z.string().min(1).max(256);

/** Long enough never to truncate a real password; the length rules apply when one is set. */
export const SignInPassword = z.string().min(1).max(1024);

/** A code as typed: 6-digit TOTP or 8-digit backup code, spaces and dashes ignored. */
export const MfaCode = z
  .string()
  .max(64)
  .meta({
    description:
      "A current 6-digit TOTP code or an unused 8-digit backup code; spaces and dashes are ignored",
    examples: ["123456"],
  });

export const User = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    role: Role,
    tenant_id: z.string(),
    mfa_enabled: z.boolean(),
    active: z.boolean().meta({ description: "False once an admin deactivated the user" }),
  })
  .meta({ id: "User" });

export const SessionList = z
  .object({
    sessions: z.array(
      z
        .object({
          id: z.string(),
          created_at: z.string().meta({ format: "date-time" }),
          last_used_at: z
            .string()
            .meta({ format: "date-time", description: "When it was last used, to within five minutes" }),
          ip: z.string().nullable().meta({ description: "The address it was opened from" }),
          user_agent: z
            .string()
            .nullable()
            .meta({ description: "The client it was opened with, as it said" }),
          current: z.boolean().meta({ description: "The session of this request" }),
        })
        .meta({ id: "ActiveSession" }),
    ),
  })
  .meta({ id: "SessionList", description: "Live sessions, the most recently used first" });

/** A passkey's answer to a challenge this API issued, in place of a code. */
export const PasskeyAssertion = z
  .object({
    challenge_id: z
      .string()
      .min(1)
      .max(64)
      .meta({ description: "From the options call that issued the challenge" }),
    credential: AssertionCredential,
  })
  .strict()
  .meta({ id: "PasskeyAssertion" });

/**
 * The fields that carry a current second factor in a body that also holds other things: a code, or
 * a passkey's answer to POST /mfa/passkeys/confirm-options in its place.
 */
export function proofFields(when: string) {
  return {
    code: MfaCode.optional().meta({ description: `${when} (or mfa_passkey)` }),
    mfa_passkey: PasskeyAssertion.optional().meta({
      description: "In place of code: an answer to POST /mfa/passkeys/confirm-options",
    }),
  };
}

/** A current second factor: a code, or a passkey assertion answering POST /mfa/passkeys/confirm-options. */
export const SecondFactorProof = z
  .object(proofFields("A current code"))
  .strict()
  .refine((proof) => (proof.code === undefined) !== (proof.mfa_passkey === undefined), {
    message: "send either code or mfa_passkey",
  })
  .meta({
    id: "SecondFactorProof",
    description: "Exactly one of: a current TOTP or backup code, or a passkey assertion",
  });

/** The domain's form of a SecondFactorProof. */
export function proofInput(proof: {
  code?: string | undefined;
  mfa_passkey?: z.output<typeof PasskeyAssertion>;
}) {
  return {
    code: proof.code,
    passkey: proof.mfa_passkey && {
      challengeId: proof.mfa_passkey.challenge_id,
      credential: proof.mfa_passkey.credential,
    },
  };
}

/** A challenge and the WebAuthn options to answer it with (src/auth/passkeys.ts, Ceremony). */
export function ceremonySchema(id: string, options: string) {
  return z
    .object({
      challenge_id: z
        .string()
        .meta({ description: "Send it back with the credential (single-use, 5 minutes)" }),
      options: z.record(z.string(), z.unknown()).meta({ description: options }),
    })
    .meta({ id });
}

// A refinement, not a pattern: validators built on Python's re cannot read \p{…} (see Username).
export const PasskeyName = z
  .string()
  .trim()
  .min(1)
  .max(PASSKEY_NAME_MAX_LENGTH)
  .refine(
    (name) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(name),
    "must be one line of text, without control characters",
  )
  .meta({ description: "One line of text, without control characters", examples: ["Work laptop"] });

export const EnrollmentNotice = z
  .object({
    required: z.literal(true),
    deadline: z.string().meta({ format: "date-time" }),
    days_remaining: z.number().int(),
  })
  .meta({ id: "EnrollmentNotice", description: "The tenant requires MFA; the user is in the grace period" });

/** A cursor is opaque to clients; today it is the last sort key seen, base64url-encoded. */
export const Cursor = z
  .string()
  .max(400)
  .meta({
    description: "The next_cursor of the previous page, as it came: opaque, not to be built or changed",
  })
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return undefined;
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(value));
    } catch {
      ctx.addIssue({ code: "custom", message: "is not a cursor this API returned" });
      return z.NEVER;
    }
  });

export function encodeCursor(key: string | null): string | null {
  if (key === null) return null;
  return toBase64Url(new TextEncoder().encode(key));
}

export const PageLimit = z.coerce.number().int().min(1).max(200).default(50);
