import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Read by vitest.config.ts on the Node side, applied by test/setup/migrations.ts. */
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
