// How the UI shows the API's errors: the same ApiError codes, worded for people, shown where the
// action was taken. Errors that mean "you are not signed in (fully)" send the browser elsewhere.
import { getCookie } from "hono/cookie";
import { authenticate } from "../auth/sessions";
import { ApiError, toApiError } from "../errors";
import { SESSION_COOKIE } from "../middleware/session";
import { Alert, formatDuration } from "./components";
import { clearSessionCookie, fragment, isHtmx, type Markup, redirect, type UiContext } from "./http";

/** The sentence a person sees for an error. */
export function describeError(error: ApiError): string {
  switch (error.code) {
    case "invalid_credentials":
      return "The username, password or tenant is not right.";
    case "invalid_password":
      return "That password is not right.";
    case "invalid_mfa_code":
      return "That code didn't work. Check that your device's clock is right and enter the current code.";
    case "too_many_attempts":
      return error.retryAfterSeconds === undefined
        ? "Too many attempts. Wait a while before you try again."
        : `Too many attempts. Try again in ${formatDuration(error.retryAfterSeconds * 1000)}.`;
    case "mfa_enforced":
      return "Your organisation requires two-step verification, so it can't be turned off. Move to a new device or add another passkey instead.";
    case "invalid_passkey":
      return "That passkey could not be verified. Try again.";
    case "passkey_exists":
      return "This passkey is registered already.";
    case "no_pending_setup":
      return "This setup has expired or was replaced. Start again.";
    case "settings_conflict":
      return "Someone else changed these settings a moment ago. Reload the page to see them, then save again.";
    case "username_taken":
      return "That username is already taken in this tenant.";
    case "forbidden":
      return "You don't have access to this.";
    case "weak_password":
      return `This password ${error.details?.[0]?.message ?? "cannot be used"}.`;
    case "invalid_reset_token":
      return "This link has expired or was used already. Ask for a new one.";
    case "last_admin":
      return "The organisation must keep at least one active admin. Make someone else an admin first.";
    case "own_account":
      return "You can't deactivate or delete your own account.";
    case "user_deactivated":
      return "This user is deactivated. Reactivate them first.";
    case "user_conflict":
      return "Someone else changed this user a moment ago. Reload the page and try again.";
    default:
      return error.message;
  }
}

/**
 * Answers a failed action's ApiError with `render(message)` under the error's status (and
 * Retry-After), so htmx swaps the message in where the form was. Anything else, and the errors
 * that mean "sign in (again)", go on to the router's onError.
 */
export function showErrorsInPlace(
  c: UiContext,
  error: unknown,
  render: (message: string, error: ApiError) => Markup,
) {
  if (!(error instanceof ApiError) || REDIRECTING.has(error.code)) throw error;
  if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
  return fragment(c, render(describeError(error), error), error.status);
}

const REDIRECTING = new Set(["unauthorized", "mfa_enrollment_required"]);

/** The /ui router's onError: redirects for missing sessions, a message in place for the rest. */
export async function handleUiError(error: Error, c: UiContext) {
  const apiError = toApiError(error);
  if (apiError.code === "unauthorized") {
    // An enrollment token opens only enrollment: a page that needs a session sends its holder there.
    if (await holdsEnrollmentToken(c)) return redirect(c, "/ui/enroll");
    clearSessionCookie(c);
    return redirect(c, "/");
  }
  if (apiError.code === "mfa_enrollment_required") return redirect(c, "/ui/enroll");
  if (apiError.retryAfterSeconds !== undefined) c.header("Retry-After", String(apiError.retryAfterSeconds));
  const body = <Alert tone="error">{describeError(apiError)}</Alert>;
  if (isHtmx(c)) return c.html(body, apiError.status);
  const heading = HEADINGS[apiError.status] ?? "Something went wrong";
  return fragment(
    c,
    <>
      <h1>{heading}</h1>
      {body}
      <p>
        <a class="btn btn-secondary" href="/ui/profile">
          Back to your profile
        </a>
      </p>
    </>,
    apiError.status,
    heading,
  );
}

async function holdsEnrollmentToken(c: UiContext): Promise<boolean> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || token.length > 4096) return false;
  return (await authenticate(c.var.db, "enrollment", token, c.var.config.sessionSigningKey)) !== null;
}

const HEADINGS: Partial<Record<number, string>> = { 403: "No access", 404: "Not found" };
