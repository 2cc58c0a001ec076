// What every request carries through the Hono app.
import type { Authenticated } from "./auth/sessions";
import type { Db } from "./db/client";
import type { Config } from "./env";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    db: Db;
    ip: string;
    auth: Authenticated;
    /** How the session arrived: the UI's cookie needs the Origin check, a bearer token does not. */
    authVia: "bearer" | "cookie";
  };
}
