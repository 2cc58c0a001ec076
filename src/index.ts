// The Worker: HTTP through the Hono app; the attempt counter's Durable Object class.
import { app } from "./app";

export { AttemptCounter } from "./limiter/attempt-counter";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
