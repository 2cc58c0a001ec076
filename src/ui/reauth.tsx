// Confirming it is you, in place: a session whose password was proved more than a few minutes ago
// confirms it (and a current code, when MFA is on) before it adds a way into an account, a factor
// or an admin (src/auth/sessions.ts, assertFreshSignIn). The fields ride in the form of the action
// that asked, which runs once they are right.
import { reauthenticate } from "../auth/reauthentication";
import type { SignedInContext } from "../context";
import { ApiError } from "../errors";
import { CodeField, TextField } from "./components";

type Field = (name: string) => string;

/** The signed-in context, made fresh first when the form carries a confirmation. */
export async function confirmIfAsked(ctx: SignedInContext, field: Field): Promise<SignedInContext> {
  const password = field("confirm_password");
  if (password === "") return ctx;
  const code = field("confirm_code").slice(0, 64);
  const { auth } = await reauthenticate(ctx, { password, code: code === "" ? undefined : code });
  return { ...ctx, auth };
}

/**
 * Whether the error asks for a confirmation (or refused the one given): the form then shows the
 * confirmation fields, with the error when there was one.
 */
export function confirmationError(error: unknown, field: Field): ConfirmationErrors | null {
  if (!(error instanceof ApiError)) return null;
  if (error.code === "reauthentication_required") return {};
  if (field("confirm_password") === "") return null;
  if (error.code === "invalid_password") return { password: "That password is not right." };
  if (error.code === "invalid_mfa_code") {
    return { code: "That code didn't work. Enter the current code from your app, or a backup code." };
  }
  return null;
}

export interface ConfirmationErrors {
  password?: string;
  code?: string;
}

/** The confirmation fields: the password, and a code when the account has MFA. */
export const ConfirmIdentity = ({
  withCode,
  errors = {},
  intro,
}: {
  withCode: boolean;
  errors?: ConfirmationErrors;
  intro: string;
}) => (
  <fieldset class="confirm-identity stack">
    <legend>Confirm it's you</legend>
    <p class="muted">{intro}</p>
    <TextField
      id="confirm-password"
      name="confirm_password"
      label="Your password"
      type="password"
      autocomplete="current-password"
      error={errors.password}
      maxlength={1024}
    />
    {withCode && (
      <CodeField
        id="confirm-code"
        name="confirm_code"
        label="Current code from your app, or a backup code"
        kind="any"
        error={errors.code}
      />
    )}
  </fieldset>
);
