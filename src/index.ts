// The Worker: HTTP through the Hono app, the daily cron (reminders, expired sessions), the email
// queue consumer, and the attempt counter's Durable Object class.
import { app } from "./app";
import { purgeExpiredSessions } from "./auth/sessions";
import { openDb } from "./db/client";
import { loadConfig } from "./env";
import { handleQueueBatch } from "./reminders/consumer";
import type { QueueJob } from "./reminders/jobs";
import { planMilestoneReminders } from "./reminders/plan";

export { AttemptCounter } from "./limiter/attempt-counter";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, _ctx) {
    loadConfig(env); // refuse to run without the secrets, as fetch does
    const db = openDb(env.DB);
    const [tenants, sessions] = await Promise.all([
      planMilestoneReminders(env, db),
      purgeExpiredSessions(db),
    ]);
    console.log(`reminder planning queued for ${tenants} tenant(s); ${sessions} expired session(s) deleted`);
  },
  async queue(batch, env, _ctx) {
    await handleQueueBatch(batch, env);
  },
} satisfies ExportedHandler<Env, QueueJob>;
