// The Worker: HTTP through the Hono app, the daily reminder cron, the email queue consumer, and the
// attempt counter's Durable Object class.
import { app } from "./app";
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
    const tenants = await planMilestoneReminders(env, openDb(env.DB));
    console.log(`reminder planning queued for ${tenants} tenant(s)`);
  },
  async queue(batch, env, _ctx) {
    await handleQueueBatch(batch, env);
  },
} satisfies ExportedHandler<Env, QueueJob>;
