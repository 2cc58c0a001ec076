// The Worker: HTTP through the Hono app, the daily cron (reminders, purges), the email
// queue consumer, and the attempt counter's Durable Object class.

import { recordCoverage } from "./admin/coverage";
import { purgeExpiredGrants } from "./admin/operator-grants";
import { app } from "./app";
import { purgeOldAuditEvents } from "./auth/audit";
import { purgeExpiredChallenges } from "./auth/passkey-challenges";
import { purgeExpiredSessions } from "./auth/sessions";
import { openDb } from "./db/client";
import { loadConfig } from "./env";
import { handleQueueBatch, purgeOldDeliveries } from "./reminders/consumer";
import { planMilestoneReminders } from "./reminders/plan";

export { AttemptCounter } from "./limiter/attempt-counter";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, _ctx) {
    const config = loadConfig(env); // refuse to run without the secrets, as fetch does
    const db = openDb(env.DB);
    const [tenants, sessions, challenges, events, grants, deliveries, measured] = await Promise.all([
      planMilestoneReminders(env, db),
      purgeExpiredSessions(db),
      purgeExpiredChallenges(db),
      purgeOldAuditEvents(db, config.auditRetentionDays),
      purgeExpiredGrants(db),
      purgeOldDeliveries(db),
      recordCoverage(db),
    ]);
    console.log(
      `reminder planning queued for ${tenants} tenant(s); deleted ${sessions} expired session(s), ${challenges} expired passkey challenge(s), ${events} audit event(s) past retention, ${grants} unused operator grant(s) and ${deliveries} old email delivery record(s); recorded MFA coverage of ${measured} tenant(s)`,
    );
  },
  async queue(batch, env, _ctx) {
    await handleQueueBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
