import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations that wrangler applies (migrations_dir in wrangler.toml).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
