// Small pieces every screen shares: icons, alerts, status pills, times, form fields and code inputs.
import type { Child, PropsWithChildren } from "hono/jsx";
import { now } from "../clock";

const ICONS = {
  shield: "M12 3l7 3v5c0 4.5-3 8.3-7 10-4-1.7-7-5.5-7-10V6l7-3z",
  check: "M5 12.5l4.5 4.5L19 7.5",
  alert: "M12 8v5m0 3.5v.5M10.3 3.9L2.6 17.5A2 2 0 004.3 20.5h15.4a2 2 0 001.7-3L13.7 3.9a2 2 0 00-3.4 0z",
  chevron: "M6 9l6 6 6-6",
  copy: "M9 9h10v10H9zM5 15V5h10",
  download: "M12 4v11m0 0l-4-4m4 4l4-4M5 20h14",
  key: "M14.5 9.5a4.5 4.5 0 11-9 0 4.5 4.5 0 019 0zM13 12l7 7m-3-3l2-2",
  info: "M12 11v6m0-9.5V8M21 12a9 9 0 11-18 0 9 9 0 0118 0z",
  lock: "M7 11V8a5 5 0 0110 0v3M5 11h14v10H5z",
} as const;

export type IconName = keyof typeof ICONS;

export const Icon = ({ name }: { name: IconName }) => (
  <svg
    class="icon"
    viewBox="0 0 24 24"
    fill="none"
    stroke="currentColor"
    stroke-width="2"
    stroke-linecap="round"
    stroke-linejoin="round"
    aria-hidden="true"
    focusable="false"
  >
    <path d={ICONS[name]} />
  </svg>
);

export type Tone = "error" | "success" | "warning" | "info";

const TONE_ICON: Record<Tone, IconName> = {
  error: "alert",
  success: "check",
  warning: "alert",
  info: "info",
};

/** A message in place; errors are announced at once, the rest politely. */
export const Alert = ({ tone, children }: PropsWithChildren<{ tone: Tone }>) => (
  <div class={`alert alert-${tone}`} role={tone === "error" ? "alert" : "status"}>
    <Icon name={TONE_ICON[tone]} />
    <div>{children}</div>
  </div>
);

export const Pill = ({ tone, children }: PropsWithChildren<{ tone: Tone | "neutral" }>) => (
  <span class={`pill pill-${tone}`}>{children}</span>
);

const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});

export function formatDateTime(at: number): string {
  return `${DATE_TIME.format(new Date(at))} UTC`;
}

/** A moment, in UTC from the server; public/js/app.js rewrites it in the reader's own time zone. */
export const LocalTime = ({ at }: { at: number }) => (
  <time datetime={new Date(at).toISOString()} data-local-time="">
    {formatDateTime(at)}
  </time>
);

const UNITS: [string, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "6 days 23 hours", "4 minutes 10 seconds": the two largest units that are not zero. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, ms);
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count} ${unit}${count === 1 ? "" : "s"}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => !part.startsWith("0 ")).join(" ") || "less than a second";
}

/** The time left until `to`, kept live by public/js/app.js. */
export const Countdown = ({ to }: { to: number }) => (
  <strong class="countdown" data-countdown-to={new Date(to).toISOString()}>
    {formatDuration(to - now())}
  </strong>
);

interface FieldProps {
  id: string;
  label: string;
  hint?: Child;
  error?: string | undefined;
}

/** A labelled control with its hint and its error, both tied to it for screen readers. */
export const Field = ({
  id,
  label,
  hint,
  error,
  control,
}: FieldProps & { control: (describedBy: string | undefined) => Child }) => {
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={error ? "field field-invalid" : "field"}>
      <label for={id}>{label}</label>
      {control(described || undefined)}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
};

export const TextField = ({
  id,
  name,
  label,
  hint,
  error,
  type = "text",
  value,
  autocomplete,
  required = true,
  maxlength,
  minlength,
}: FieldProps & {
  name: string;
  type?: "text" | "email" | "password";
  value?: string | undefined;
  autocomplete?: string;
  required?: boolean;
  maxlength?: number;
  minlength?: number;
}) => (
  <Field
    id={id}
    label={label}
    hint={hint}
    error={error}
    control={(describedBy) => (
      <input
        id={id}
        name={name}
        type={type}
        value={value}
        autocomplete={autocomplete}
        required={required}
        maxlength={maxlength}
        minlength={minlength}
        aria-describedby={describedBy}
        aria-invalid={error ? "true" : undefined}
        spellcheck={false}
      />
    )}
  />
);

/** What a code input accepts: a TOTP code only, a backup code only, or either. */
export type CodeKind = "totp" | "backup" | "any";

const CODE_PLACEHOLDER: Record<CodeKind, string> = {
  totp: "123 456",
  backup: "1234 5678",
  any: "123 456",
};

/**
 * The one-time-code input: numeric keyboard on phones, the OS's code autofill, no spellcheck.
 * Spaces and dashes are allowed because the server ignores them.
 */
export const CodeField = ({
  id,
  name,
  label,
  kind,
  hint,
  error,
  autofocus = false,
  required = true,
}: {
  id: string;
  name: string;
  label: string;
  kind: CodeKind;
  hint?: Child;
  error?: string | undefined;
  autofocus?: boolean;
  required?: boolean;
}) => (
  <Field
    id={id}
    label={label}
    hint={hint}
    error={error}
    control={(describedBy) => (
      <input
        id={id}
        name={name}
        type="text"
        class="code-input"
        inputmode="numeric"
        autocomplete="one-time-code"
        pattern={kind === "totp" ? "[0-9 \\-]{6,8}" : "[0-9 \\-]{6,12}"}
        maxlength={kind === "totp" ? 8 : 12}
        placeholder={CODE_PLACEHOLDER[kind]}
        required={required}
        autofocus={autofocus}
        spellcheck={false}
        aria-describedby={describedBy}
        aria-invalid={error ? "true" : undefined}
      />
    )}
  />
);

/** 12345678 → "1234 5678"; a TOTP secret in groups of four. */
export function groupDigits(text: string, size = 4): string {
  return text.match(new RegExp(`.{1,${size}}`, "g"))?.join(" ") ?? text;
}

/** The last row of a long list: replaced by the next page of rows (and its own next button). */
export const LoadMoreRow = ({ href, columns }: { href: string; columns: number }) => (
  <tr class="load-more">
    <td colspan={columns}>
      <button
        type="button"
        class="btn btn-secondary btn-small"
        hx-get={href}
        hx-target="closest tr"
        hx-swap="outerHTML"
      >
        Load more
      </button>
    </td>
  </tr>
);
