// The one place the database's shape is written down; `npm run db:generate` turns it into migrations.
// Every time is an integer of milliseconds since the epoch, read from src/clock.ts.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(), // slug, e.g. "acme-eu"
  name: text("name").notNull(),
  mfaRequired: integer("mfa_required", { mode: "boolean" }).notNull().default(false),
  mfaGracePeriodDays: integer("mfa_grace_period_days").notNull().default(0),
  // When the current period of enforcement began; null while MFA is not required.
  mfaEnforcedSince: integer("mfa_enforced_since"),
  // Bumped by every settings change: a change applies only to the version it was decided on, so
  // two admins saving at once can never both be told their change stands.
  settingsVersion: integer("settings_version").notNull().default(0),
  createdAt: integer("created_at").notNull(),
  // Kept exact by triggers on users (migrations/0002), so the dashboard never counts 100,000 rows.
  userCount: integer("user_count").notNull().default(0),
  enrolledCount: integer("enrolled_count").notNull().default(0),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    username: text("username").notNull(),
    // Trimmed and case-folded username: what uniqueness and the attempt counters key on.
    usernameKey: text("username_key").notNull(),
    email: text("email").notNull(),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    passwordHash: text("password_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    // Set when MFA was last enabled; null means the user has no MFA.
    mfaEnabledAt: integer("mfa_enabled_at"),
    // AES-256-GCM ciphertexts ("kid.iv.ciphertext"): the active secret and one awaiting verification.
    totpSecret: text("totp_secret"),
    totpPendingSecret: text("totp_pending_secret"),
    // Highest TOTP time step accepted so far; a code is accepted only for a strictly later step.
    totpLastStep: integer("totp_last_step").notNull().default(0),
    // When an admin last removed the user's MFA: a reset during enforcement never reopens a grace period.
    mfaResetAt: integer("mfa_reset_at"),
    // Set while an admin has deactivated the account: it cannot sign in, and counts nowhere.
    deactivatedAt: integer("deactivated_at"),
    // When a session was last opened for the user (a trigger on sessions: the login path writes
    // nothing more for it). The enrollment report's "last sign-in".
    lastSignInAt: integer("last_sign_in_at"),
  },
  (t) => [
    uniqueIndex("users_tenant_username").on(t.tenantId, t.usernameKey),
    // The enrollment dashboard pages through the users of a tenant with or without MFA.
    index("users_tenant_mfa").on(t.tenantId, t.mfaEnabledAt, t.usernameKey),
    check("users_role", sql`${t.role} in ('admin', 'member')`),
  ],
);

export const backupCodes = sqliteTable(
  "backup_codes",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // HMAC-SHA-256 under a pepper outside the database, bound to the user id.
    codeHash: text("code_hash").notNull(),
    // "pending" codes belong to a setup not yet verified; verify makes them "active".
    status: text("status", { enum: ["pending", "active"] }).notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    // "session" opens the API; "enrollment" opens only MFA setup and verify; "mfa" is a sign-in
    // whose password was right and whose second step is pending (src/auth/login.ts).
    kind: text("kind", { enum: ["session", "enrollment", "mfa"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    // When the holder last proved their password in this session (signing in, or re-authenticating):
    // adding a factor needs it to be recent (src/auth/sessions.ts, isFreshSignIn).
    authenticatedAt: integer("authenticated_at").notNull().default(0),
    // When the session last opened a request, to within SESSION_TOUCH_MS (src/auth/sessions.ts):
    // written at most that often, never on every request.
    lastUsedAt: integer("last_used_at").notNull().default(0),
    // Where and with what the session was opened, for the owner's list of their sessions.
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  // sessions_expires serves the daily purge of ended sessions (src/auth/sessions.ts).
  (t) => [index("sessions_user").on(t.userId), index("sessions_expires").on(t.expiresAt)],
);

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    at: integer("at").notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetId: text("target_id"),
    ip: text("ip"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
    // The tamper evidence (src/audit/chain.ts): `mac` keys the row's content under
    // AUDIT_SIGNING_KEY when it is written; sealing gives it the tenant's next `seq` and `chain`,
    // which keys the previous link with this row's mac. Null seq: written, not sealed yet.
    mac: text("mac"),
    seq: integer("seq"),
    chain: text("chain"),
  },
  // audit_at serves the daily purge of events past retention (src/auth/audit.ts); audit_tenant_seq
  // keeps two sealers from giving one place in the chain to two events.
  (t) => [
    index("audit_tenant_at").on(t.tenantId, t.at, t.id),
    index("audit_at").on(t.at),
    uniqueIndex("audit_tenant_seq").on(t.tenantId, t.seq),
  ],
);

// Signed statements that a tenant's chain reached `seq` with link `chain` (src/audit/chain.ts):
// written daily, and at the retention cut ("cut": the events up to seq were purged on purpose).
export const auditCheckpoints = sqliteTable(
  "audit_checkpoints",
  {
    tenantId: text("tenant_id").notNull(),
    seq: integer("seq").notNull(),
    chain: text("chain").notNull(),
    at: integer("at").notNull(),
    kind: text("kind", { enum: ["daily", "cut"] }).notNull(),
    signature: text("signature").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.seq, t.kind] })],
);

// One row per reminder email planned: a user gets each milestone before a deadline at most once,
// however often the cron runs.
export const remindersSent = sqliteTable(
  "reminders_sent",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deadline: integer("deadline").notNull(),
    milestone: integer("milestone").notNull(), // days before the deadline: 7, 3, 1 or 0
    sentAt: integer("sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.deadline, t.milestone] })],
);

// Each email the queue consumer took on, by its idempotency key (src/reminders/consumer.ts): a job
// queued twice is sent once. Kept for a month, then purged by the daily cron.
export const emailDeliveries = sqliteTable(
  "email_deliveries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    // When a consumer last took it on; another may take it over once this is a few minutes old
    // (0: given back after a failure that may pass).
    claimedAt: integer("claimed_at").notNull(),
    // Whether it was counted against the daily caps already: a retry is not counted again.
    budgeted: integer("budgeted", { mode: "boolean" }).notNull().default(false),
    // null while sending; then what became of it.
    outcome: text("outcome", { enum: ["sent", "failed", "suppressed"] }),
  },
  (t) => [index("email_deliveries_claimed").on(t.claimedAt)],
);

// One-time grants written by the operator CLI, which holds D1 access but no session: each lets the
// Worker run one operator action, once, for one user, within minutes (src/admin/operator-grants.ts).
export const operatorGrants = sqliteTable("operator_grants", {
  // SHA-256 of the grant's random token; the token itself is never stored.
  tokenHash: text("token_hash").primaryKey(),
  action: text("action", { enum: ["reset-mfa"] }).notNull(),
  tenantId: text("tenant_id").notNull(),
  usernameKey: text("username_key").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

// Password reset links (forgotten password, or sent by an admin): only the SHA-256 of the link's
// random token is stored. A link is spent by deleting its row, and every link of a user goes when
// the password changes.
export const passwordResets = sqliteTable(
  "password_resets",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    // The admin who sent it; null when the user asked for it.
    requestedBy: text("requested_by"),
  },
  (t) => [index("password_resets_user").on(t.userId), index("password_resets_expires").on(t.expiresAt)],
);

// A user's passkeys (WebAuthn credentials, src/auth/passkeys.ts). A credential id is unique in its
// tenant (WebAuthn §7.1 step 22: one registered to someone else is refused), and the public key is
// kept as a JWK, the form the runtime's crypto imports.
export const passkeys = sqliteTable(
  "passkeys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    // base64url, as the browser names it (PublicKeyCredential.id).
    credentialId: text("credential_id").notNull(),
    publicKey: text("public_key").notNull(), // JWK, as JSON
    algorithm: integer("algorithm").notNull(), // COSE: -7 ES256, -257 RS256
    // The authenticator's signature counter; 0 forever on authenticators that do not keep one.
    signCount: integer("sign_count").notNull().default(0),
    // The BE and BS flags of the last use: backup-eligible (a synced passkey) and backed up now.
    backupEligible: integer("backup_eligible", { mode: "boolean" }).notNull(),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull(),
    transports: text("transports", { mode: "json" }).$type<string[]>(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [
    uniqueIndex("passkeys_tenant_credential").on(t.tenantId, t.credentialId),
    index("passkeys_user").on(t.userId),
  ],
);

// WebAuthn challenges: single-use (spent by deleting the row), five minutes, and bound to what
// asked for them: a session adding or confirming with a passkey, a pending sign-in, or a tenant's
// sign-in page (a discoverable-credential request names no user).
export const webauthnChallenges = sqliteTable(
  "webauthn_challenges",
  {
    id: text("id").primaryKey(),
    challenge: text("challenge").notNull(), // base64url, 32 random bytes
    purpose: text("purpose", { enum: ["register", "confirm", "second-step", "sign-in"] }).notNull(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id"),
    // The session or pending sign-in it was issued to; null for a passkey-alone sign-in.
    sessionId: text("session_id"),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("webauthn_challenges_expires").on(t.expiresAt)],
);

// Each tenant's MFA coverage, one row a day (the daily cron, src/admin/coverage.ts): the evidence
// of who had MFA when. A second run on the same day writes the day's row again.
export const mfaCoverageDays = sqliteTable(
  "mfa_coverage_days",
  {
    tenantId: text("tenant_id").notNull(),
    date: text("date").notNull(), // YYYY-MM-DD, UTC
    totalUsers: integer("total_users").notNull(),
    enrolledUsers: integer("enrolled_users").notNull(),
    blocked: integer("blocked").notNull(),
    inGrace: integer("in_grace").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.date] })],
);

export type Tenant = typeof tenants.$inferSelect;
export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Passkey = typeof passkeys.$inferSelect;
