import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "./env";

// Every error the API can answer with: a stable machine code, its status and a human message.
// Clients branch on `code`; the message may be reworded.
export const ERRORS = {
  invalid_request: [400, "The request is not valid"],
  invalid_json: [400, "The body is not valid JSON"],
  weak_password: [400, "Choose another password"],
  invalid_reset_token: [400, "This password reset link has expired or was used already; ask for a new one"],
  unauthorized: [401, "Authentication required"],
  invalid_credentials: [401, "Invalid username, password or tenant"],
  invalid_mfa_code: [401, "Invalid MFA code"],
  invalid_mfa_token: [401, "This sign-in has expired or is not valid; start again with your password"],
  invalid_password: [401, "The password is not right"],
  invalid_passkey: [401, "The passkey could not be verified; try again"],
  reauthentication_required: [
    401,
    "Confirm it is you first: POST /auth/reauthenticate with your password (and a code when MFA is on)",
  ],
  forbidden: [403, "You are not allowed to do this"],
  mfa_enforced: [
    403,
    "Your organisation requires MFA; move to a new device or add another factor instead of removing the last one",
  ],
  mfa_enrollment_required: [403, "Your organisation requires MFA: set it up to continue"],
  not_found: [404, "Not found"],
  method_not_allowed: [405, "Method not allowed"],
  username_taken: [409, "That username is already taken in this tenant"],
  no_pending_setup: [409, "There is no MFA setup waiting for verification"],
  mfa_not_enabled: [409, "MFA is not enabled for this account"],
  no_passkeys: [409, "This account has no passkey"],
  passkey_exists: [409, "This passkey is registered already"],
  too_many_passkeys: [409, "This account has as many passkeys as it may hold; remove one first"],
  last_admin: [409, "The tenant must keep at least one active admin"],
  own_account: [409, "You cannot deactivate or delete your own account"],
  user_deactivated: [409, "The user is deactivated"],
  user_conflict: [409, "The user was changed by someone else meanwhile; read it again and retry"],
  settings_conflict: [409, "The settings were changed by someone else meanwhile; read them again and retry"],
  payload_too_large: [413, "The body is larger than 16 KiB"],
  unsupported_media_type: [415, "The body must be application/json"],
  too_many_attempts: [429, "Too many attempts; try again later"],
  internal_error: [500, "Something went wrong on our side"],
  unavailable: [503, "The service is temporarily unavailable; try again"],
  misconfigured: [503, "The service is not configured; the operator must set its secrets"],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** The one error type the app throws; `onError` turns it into the JSON error shape. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly details: ErrorDetail[] | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    options: { message?: string; details?: ErrorDetail[]; retryAfterSeconds?: number } = {},
  ) {
    super(options.message ?? ERRORS[code][1]);
    this.status = ERRORS[code][0];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function errorBody(error: ApiError) {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    },
  };
}

/**
 * What any thrown error means to a client: the one mapping the API's and the UI's error handlers
 * share, so both answer a storage outage with 503 and a missing secret with 503 misconfigured.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ConfigError) {
    // Logged without values: the message names the secrets that are missing or weak, never their contents.
    console.error(`misconfigured: ${error.message}`);
    return new ApiError("misconfigured");
  }
  if (error instanceof HTTPException) {
    // Hono's own refusals (a body that is not JSON, mostly) keep their status.
    return new ApiError(error.status === 400 ? "invalid_json" : "invalid_request");
  }
  if (isStorageError(error)) {
    console.error("storage unavailable", error);
    return new ApiError("unavailable");
  }
  console.error("unexpected error", error);
  return new ApiError("internal_error");
}

function isStorageError(error: unknown): boolean {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : "";
  return /D1_|SQLITE_|Network connection lost/.test(message);
}
