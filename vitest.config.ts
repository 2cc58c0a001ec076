import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { developmentVars } from "./scripts/dev-vars.ts";

// The test runtime is a development runtime: localhost origin, example sender (src/env.ts).
const DEVELOPMENT_VARS = developmentVars("http://localhost");

export default defineConfig(async () => {
  // Read on the Node side, applied inside the Workers runtime by test/setup/migrations.ts.
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ...DEVELOPMENT_VARS,
            // Test-only secrets: random per run, never used outside the test runtime.
            SESSION_SIGNING_KEY: randomSecret(),
            PASSWORD_PEPPER: randomSecret(),
            BACKUP_CODE_PEPPER: randomSecret(),
            AUDIT_SIGNING_KEY: randomSecret(),
            TOTP_ENCRYPTION_KEYS: `t1:${randomSecret()}`,
          },
          // The tests drive the queue consumer themselves (createMessageBatch), so the runtime's own
          // delivery waits longer than any test file runs and never races them.
          queueConsumers: {
            "edge-mfa-email": { maxBatchSize: 100, maxBatchTimeout: 60 },
            "edge-mfa-email-dlq": { maxBatchSize: 100, maxBatchTimeout: 60 },
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
      exclude: ["test/browser/**"],
      setupFiles: ["./test/setup/migrations.ts", "./test/setup/contract.ts"],
    },
  };
});

function randomSecret(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}
