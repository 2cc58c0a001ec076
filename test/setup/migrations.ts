// Setup files run before each test file, inside its isolated storage; applying is idempotent.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { resetClock } from "../../src/clock";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// A test that moves the clock never leaks the move into the next test.
afterEach(() => resetClock());
