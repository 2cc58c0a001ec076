// The Hono app: middleware, the routers, and the one place errors become responses.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { API_BASE, API_ROUTERS } from "./api/routers";
import type { AppEnv } from "./context";
import { openDb } from "./db/client";
import { ConfigError, isLoopbackHost, loadConfig } from "./env";
import { ApiError, errorBody, toApiError } from "./errors";
import { jsonBodies, noStore, sameOriginForms, sameOriginOnly, securityHeaders } from "./middleware/security";
import { uiRoutes } from "./ui";

const MAX_BODY_BYTES = 16 * 1024;

export const app = new Hono<AppEnv>();

app.use(securityHeaders);
app.use(async (c, next) => {
  const config = loadConfig(c.env);
  // Development's relaxed rules must not follow its values into a deployment (a .dev.vars uploaded
  // as secrets, say): a development runtime answers only requests to this machine.
  if (config.development && !isLoopbackHost(new URL(c.req.url).hostname)) {
    throw new ConfigError("ENVIRONMENT=development answers only requests to localhost");
  }
  c.set("config", config);
  c.set("db", openDb(c.env.DB, config.auditSigningKey));
  // Cloudflare sets this header itself; a client cannot choose its own address.
  c.set("ip", c.req.header("cf-connecting-ip") ?? "127.0.0.1");
  await next();
});
app.use("/api/*", noStore, sameOriginOnly);
app.use("/ui/*", noStore, sameOriginForms);
app.use(
  "/api/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large");
    },
  }),
  jsonBodies,
);

const api = app.basePath(API_BASE);
for (const [prefix, router] of API_ROUTERS) api.route(prefix, router);
app.route("/ui", uiRoutes);

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  const allowed = app.routes
    .filter((r) => r.method !== "ALL" && routePattern(r.path).test(path))
    .map((r) => r.method);
  if (allowed.length > 0) {
    c.header("Allow", [...new Set(allowed)].join(", "));
    return respondWithError(c, new ApiError("method_not_allowed"));
  }
  return respondWithError(c, new ApiError("not_found"));
});

app.onError((error, c) => respondWithError(c, toApiError(error)));

function respondWithError(c: Context<AppEnv>, error: ApiError) {
  if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
  c.header("Cache-Control", "no-store");
  return c.json(errorBody(error), error.status);
}

const patterns = new Map<string, RegExp>();
function routePattern(path: string): RegExp {
  let pattern = patterns.get(path);
  if (!pattern) {
    const source = path
      .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\/:[^/]+/g, "/[^/]+")
      .replace(/\*/g, ".*");
    pattern = new RegExp(`^${source}$`);
    patterns.set(path, pattern);
  }
  return pattern;
}
