// Where the browser tests write a screenshot of every screen they pass through, and which of them
// the README shows (copied into docs/screenshots/ by `E2E_UPDATE_DOCS=1 npm run test:e2e`).
import { join } from "node:path";

export const SCREENSHOT_DIR = join(import.meta.dirname, "..", "..", "test-results", "screenshots");

export const DOC_SCREENSHOTS = [
  "sign-in",
  "sign-in-code",
  "sign-in-backup-code",
  "profile-enable-mfa",
  "profile-backup-codes",
  "profile-mfa-on",
  "sign-in-too-many-attempts",
  "security-preview",
  "grace-banner",
  "enrollment",
  "mfa-status-reminders",
  "users-reset-confirm",
  "audit-log",
  "phone-profile-banner",
  "profile-password-refused",
  "profile-sessions",
  "forgot-password",
  "reset-password",
  "user-detail",
  "user-deactivated",
  "profile-passkeys",
  "profile-passkey-added",
  "sign-in-passkey-step",
  "sign-in-with-passkey",
  "profile-passkey-remove",
  "enrollment-passkey",
  "compliance",
  "mfa-status-chart",
] as const;
