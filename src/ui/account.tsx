// Profile → Password and Profile → Sessions: changing one's password (the current one, and a code
// with MFA) and seeing and ending one's sessions, through the same domain functions as the API.
import { Hono } from "hono";
import { changePassword } from "../auth/password-change";
import { endOtherSessions, endOwnSession, type ListedSession, sessionsOf } from "../auth/session-list";
import { type AppEnv, signedInContext } from "../context";
import type { User } from "../db/schema";
import { ApiError } from "../errors";
import { requireAuth } from "../middleware/session";
import { Alert, CodeField, LocalTime, Pill, TextField } from "./components";
import { showErrorsInPlace } from "./errors";
import { formFields, fragment, type UiContext } from "./http";

export const accountRoutes = new Hono<AppEnv>();

interface PasswordErrors {
  current?: string;
  next?: string;
  confirm?: string;
  code?: string;
}

accountRoutes.post("/profile/password", requireAuth(), async (c) => {
  const field = await formFields(c);
  const { user } = c.var.auth;
  const next = field("new_password");
  if (next !== field("confirm_password")) {
    return fragment(
      c,
      <PasswordCard user={user} errors={{ confirm: "The two new passwords differ." }} />,
      422,
    );
  }
  try {
    await changePassword(signedInContext(c), {
      currentPassword: field("current_password"),
      newPassword: next,
      code: user.mfaEnabledAt === null ? undefined : field("code").slice(0, 64),
    });
  } catch (error) {
    return showErrorsInPlace(c, error, (message, apiError) => (
      <PasswordCard user={user} errors={passwordErrors(apiError, message)} />
    ));
  }
  return fragment(c, <PasswordCard user={user} changed />);
});

/** Where each refusal shows: on the field it is about. */
function passwordErrors(error: ApiError, message: string): PasswordErrors {
  switch (error.code) {
    case "invalid_password":
      return { current: message };
    case "weak_password":
      return { next: message };
    case "invalid_request":
      return { next: "Use 8 to 128 characters." };
    case "invalid_mfa_code":
      return { code: message };
    default:
      return { current: message };
  }
}

export const PasswordCard = ({
  user,
  errors = {},
  changed = false,
}: {
  user: User;
  errors?: PasswordErrors;
  changed?: boolean;
}) => (
  <section id="password-card" class="card" aria-labelledby="password-title">
    <h2 id="password-title">Password</h2>
    {changed && (
      <Alert tone="success">Your password is changed. Your other sessions have been signed out.</Alert>
    )}
    <form
      class="stack"
      method="post"
      action="/ui/profile/password"
      hx-post="/ui/profile/password"
      hx-target="#password-card"
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      <TextField
        id="current-password"
        name="current_password"
        label="Current password"
        type="password"
        autocomplete="current-password"
        error={errors.current}
        maxlength={1024}
      />
      <NewPasswordFields ids={["new-password", "confirm-new-password"]} errors={errors} />
      {user.mfaEnabledAt !== null && (
        <CodeField
          id="password-code"
          name="code"
          label="Current code from your app, or a backup code"
          kind="any"
          error={errors.code}
        />
      )}
      <div class="actions">
        <button type="submit" class="btn btn-primary">
          Change password
        </button>
      </div>
    </form>
  </section>
);

accountRoutes.post("/profile/sessions/others/end", requireAuth(), async (c) => {
  await endOtherSessions(signedInContext(c));
  return fragment(c, await sessionsCard(c, "Your other sessions have been signed out."));
});

accountRoutes.post("/profile/sessions/:sessionID/end", requireAuth(), async (c) => {
  try {
    await endOwnSession(signedInContext(c), c.req.param("sessionID").slice(0, 100));
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "not_found") throw error;
    // Ended meanwhile (elsewhere, or it expired): the list shows what is left.
    return fragment(c, await sessionsCard(c, "That session had ended already."));
  }
  return fragment(c, await sessionsCard(c, "That session has been signed out."));
});

/** The signed-in user's sessions, with a message about what just happened. */
export async function sessionsCard(c: UiContext, notice?: string) {
  const { user, session } = c.var.auth;
  const sessions = await sessionsOf(c.var.db, user.id, session.id);
  return (
    <SessionsCard
      sessions={sessions}
      notice={notice}
      endOne={(id) => `/ui/profile/sessions/${encodeURIComponent(id)}/end`}
      endAll={{ href: "/ui/profile/sessions/others/end", label: "Sign out all other sessions" }}
      title="Sessions"
      lead="Where you are signed in. Sign out any session you do not recognise, then change your password."
    />
  );
}

/** A new password and its confirmation, as Profile and the reset link ask for them. */
export const NewPasswordFields = ({
  ids,
  errors,
}: {
  ids: [string, string];
  errors: { next?: string | undefined; confirm?: string | undefined };
}) => (
  <>
    <TextField
      id={ids[0]}
      name="new_password"
      label="New password"
      type="password"
      autocomplete="new-password"
      hint="8 to 128 characters. A few unrelated words make a good one; common passwords are refused."
      error={errors.next}
      minlength={8}
      maxlength={128}
    />
    <TextField
      id={ids[1]}
      name="confirm_password"
      label="New password again"
      type="password"
      autocomplete="new-password"
      error={errors.confirm}
      minlength={8}
      maxlength={128}
    />
  </>
);

/** A list of sessions with a button to end each, and one to end many (the profile's and an admin's). */
export const SessionsCard = ({
  sessions,
  notice,
  endOne,
  endAll,
  title,
  lead,
  target = "#sessions-card",
}: {
  sessions: ListedSession[];
  notice?: string | undefined;
  endOne: ((id: string) => string) | null;
  endAll: { href: string; label: string };
  title: string;
  lead: string;
  /** What the answer to ending sessions replaces: this card, or the page's panel that holds it. */
  target?: string;
}) => (
  <section id="sessions-card" class="card" aria-labelledby="sessions-title">
    <h2 id="sessions-title">{title}</h2>
    <p class="muted">{lead}</p>
    {notice && <Alert tone="success">{notice}</Alert>}
    {sessions.length === 0 ? (
      <p>No live sessions.</p>
    ) : (
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Client</th>
            <th scope="col">Signed in</th>
            <th scope="col">Last used</th>
            {endOne && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {sessions.map((session) => (
            <tr>
              <td data-label="Client">
                <span class="cell-title">
                  {describeClient(session.userAgent)}
                  {session.current && (
                    <>
                      {" "}
                      <Pill tone="success">This session</Pill>
                    </>
                  )}
                </span>
                <span class="muted">{session.ip ?? "address unknown"}</span>
              </td>
              <td data-label="Signed in">
                <LocalTime at={session.createdAt} />
              </td>
              <td data-label="Last used">
                <LocalTime at={session.lastUsedAt} />
              </td>
              {endOne && (
                <td class="row-actions">
                  {!session.current && (
                    <button
                      type="button"
                      class="btn btn-secondary btn-small"
                      hx-post={endOne(session.id)}
                      hx-target="#sessions-card"
                      hx-swap="outerHTML"
                      aria-label={`Sign out ${describeClient(session.userAgent)} from ${session.ip ?? "an unknown address"}`}
                    >
                      Sign out
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    )}
    {sessions.some((s) => !s.current) && (
      <form method="post" action={endAll.href} hx-post={endAll.href} hx-target={target} hx-swap="outerHTML">
        <button type="submit" class="btn btn-secondary">
          {endAll.label}
        </button>
      </form>
    )}
  </section>
);

const BROWSERS: [RegExp, string][] = [
  [/Edg\//, "Edge"],
  [/Firefox\//, "Firefox"],
  [/Chrom(e|ium)\//, "Chrome"],
  [/Safari\//, "Safari"],
  [/curl\//, "curl"],
];
const SYSTEMS: [RegExp, string][] = [
  [/Android/, "Android"],
  [/iPhone|iPad/, "iOS"],
  [/Mac OS X/, "macOS"],
  [/Windows/, "Windows"],
  [/Linux|X11/, "Linux"],
];

/** "Firefox on Linux" from a User-Agent header; what it says, not what it is. */
export function describeClient(userAgent: string | null): string {
  if (!userAgent) return "Unknown client";
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 40);
}
