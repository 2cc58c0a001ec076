// The emails themselves: plain text and HTML bodies with the enrollment link.
import type { Config } from "../env";
import type { EmailJob } from "./jobs";

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/**
 * What may go into a header: one line of text. Control and format characters (CR, LF, the bidi
 * overrides) become spaces, so no name a tenant or an operator typed can start a header of its own
 * ("Bcc:") or reorder what the reader sees.
 */
export function headerText(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export function buildEmail(job: EmailJob, config: Config): EmailContent {
  const link =
    job.kind === "password_reset"
      ? passwordResetLink(config.publicOrigin, job.token)
      : `${config.publicOrigin}/?tenant=${encodeURIComponent(job.tenantId)}`;
  const product = config.productName;
  const greeting = `Hello ${job.username},`;
  let subject: string;
  let lines: string[];
  if (job.kind === "reminder") {
    const when = job.deadline === null ? null : formatDate(job.deadline);
    subject =
      when === null
        ? `${job.tenantName} requires two-factor authentication`
        : `Set up two-factor authentication for ${job.tenantName} by ${when}`;
    lines = [
      greeting,
      `${job.tenantName} requires two-factor authentication (an authenticator app) for every account on ${product}.`,
      when === null
        ? "You will be asked to set it up the next time you sign in."
        : `Please set it up before ${when}. After that date you will have to set it up before you can continue.`,
      `Sign in and follow the steps: ${link}`,
    ];
  } else if (job.kind === "password_reset") {
    subject = `Reset your ${product} password`;
    lines = [
      greeting,
      job.by === "admin"
        ? `An administrator of ${job.tenantName} sent you a link to choose a new password for your account.`
        : `Someone asked to reset the password of your ${job.tenantName} account. If it was you, choose a new password here:`,
      link,
      `The link works once, until ${formatDateTime(job.expiresAt)}. Setting a new password signs out every session; if your account has two-step verification, signing in still asks for your code.`,
      "If you did not ask for this, ignore this email: your password stays as it is.",
    ];
  } else {
    ({ subject, lines } = securityMessage(job, product, link));
    lines.unshift(greeting);
  }
  lines.push(`If you did not expect this email, contact your ${job.tenantName} administrator.`);
  return { subject: headerText(subject), text: lines.join("\n\n"), html: toHtml(lines, link) };
}

function securityMessage(job: Extract<EmailJob, { kind: "security" }>, product: string, link: string) {
  const when = formatDateTime(job.at);
  switch (job.event) {
    case "mfa_enabled":
      return {
        subject: `Two-factor authentication was turned on for your ${product} account`,
        lines: [
          `Two-factor authentication was turned on for your account on ${when}: signing in now asks for the authenticator app or the passkey that was set up. Your other sessions were signed out.`,
          "If this was not you, someone else may hold your password and your session: contact your administrator at once, since only they can remove an authenticator you do not have.",
        ],
      };
    case "mfa_disabled":
      return {
        subject: `Two-factor authentication was turned off on your ${product} account`,
        lines: [
          `Two-factor authentication was turned off for your account on ${when}. Your other sessions were signed out.`,
        ],
      };
    case "mfa_reset":
      return {
        subject: `An administrator reset two-factor authentication on your ${product} account`,
        lines: [
          `An administrator of ${job.tenantName} removed two-factor authentication from your account on ${when}, and your sessions were signed out.`,
          `Set it up again when you next sign in: ${link}`,
        ],
      };
    case "device_changed":
      return {
        subject: `Your ${product} account has a new authenticator device`,
        lines: [
          `Your account was moved to a new authenticator device on ${when}. Your other sessions were signed out.`,
        ],
      };
    case "passkey_added":
      return {
        subject: `A passkey was added to your ${product} account`,
        lines: [
          `A passkey was added to your account on ${when}: it can now sign you in on its own, with its PIN or biometric.`,
          "If this was not you, contact your administrator at once.",
        ],
      };
    case "passkey_removed":
      return {
        subject: `A passkey was removed from your ${product} account`,
        lines: [`A passkey was removed from your account on ${when}; it can no longer sign you in.`],
      };
    case "password_changed":
      return {
        subject: `The password of your ${product} account was changed`,
        lines: [
          `The password of your account was changed on ${when}. Your other sessions were signed out.`,
          "If this was not you, ask your administrator to send you a password reset link at once.",
        ],
      };
    case "password_reset":
      return {
        subject: `The password of your ${product} account was reset`,
        lines: [
          `A new password was set for your account through a reset link on ${when}, and every session was signed out.`,
          "If this was not you, ask your administrator to send you a password reset link at once.",
        ],
      };
    case "backup_code_used":
      return {
        subject: `A backup code was used on your ${product} account`,
        lines: [
          `A backup code was used to sign in to your account on ${when}. You have ${job.remaining ?? 0} backup codes left.`,
          "If you have lost your authenticator, sign in and move to a new device, or regenerate your backup codes.",
        ],
      };
  }
}

/** The page a reset link opens: it takes the new password (src/ui/password-reset.tsx). */
export function passwordResetLink(origin: string, token: string): string {
  return `${origin}/ui/password/reset?token=${encodeURIComponent(token)}`;
}

function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function formatDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function toHtml(lines: string[], link: string): string {
  const paragraphs = lines
    .map((line) =>
      escapeHtml(line).replace(escapeHtml(link), `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`),
    )
    .map((line) => `<p>${line}</p>`)
    .join("\n");
  return `<!doctype html><html><body style="font-family: sans-serif">\n${paragraphs}\n</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
