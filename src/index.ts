// The Worker: HTTP through the Hono app, the daily cron (reminders, purges), the email
// queue consumer, and the attempt counter's Durable Object class.

import { recordCoverage } from "./admin/coverage";
import { purgeExpiredGrants } from "./admin/operator-grants";
import { app } from "./app";
import { checkpointTenants, purgeOldAuditEvents } from "./audit/seal";
import { purgeExpiredChallenges } from "./auth/passkey-challenges";
import { purgeExpiredSessions } from "./auth/sessions";
import { openDb } from "./db/client";
import { loadConfig } from "./env";
import { handleQueueBatch, purgeOldDeliveries } from "./reminders/consumer";
import { planMilestoneReminders } from "./reminders/plan";

export { AuditAnchor } from "./audit/anchor";
export { AttemptCounter } from "./limiter/attempt-counter";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, _ctx) {
    const config = loadConfig(env); // refuse to run without the secrets, as fetch does
    const db = openDb(env.DB, config.auditSigningKey);
    const [tenants, sessions, challenges, [events, checkpointed], grants, deliveries, measured] =
      await Promise.all([
        planMilestoneReminders(env, db),
        purgeExpiredSessions(db),
        purgeExpiredChallenges(db),
        // The cut's checkpoints first, then each tenant's daily one where its chain moved on.
        purgeOldAuditEvents({ env, db }, config.auditRetentionDays).then(async (purged) => [
          purged,
          await checkpointTenants({ env, db }),
        ]),
        purgeExpiredGrants(db),
        purgeOldDeliveries(db),
        recordCoverage(db),
      ]);
    console.log(
      `reminder planning queued for ${tenants} tenant(s); deleted ${sessions} expired session(s), ${challenges} expired passkey challenge(s), ${events} audit event(s) past retention (checkpointed ${checkpointed} tenant chain(s)), ${grants} unused operator grant(s) and ${deliveries} old email delivery record(s); recorded MFA coverage of ${measured} tenant(s)`,
    );
  },
  async queue(batch, env, _ctx) {
    await handleQueueBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
