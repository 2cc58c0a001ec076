// What every request carries through the Hono app, and the context the domain functions get from it.
import type { Context } from "hono";
import type { Authenticated } from "./auth/sessions";
import type { Db } from "./db/client";
import type { Config } from "./env";
import { type EmailJob, enqueue } from "./reminders/jobs";

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

export interface RequestContext {
  env: Env;
  db: Db;
  config: Config;
  ip: string;
  /** Queues an email after the response; a failure to queue is logged and never fails the request. */
  notify: (job: EmailJob) => void;
}

/** The request context plus who is signed in: what the signed-in user's own actions (MFA) take. */
export type SignedInContext = RequestContext & { auth: Authenticated };

/** What an admin's actions on their tenant take: the same, the signed-in user being an admin. */
export type AdminContext = SignedInContext;

export function signedInContext(c: Context<AppEnv>): SignedInContext {
  return { ...requestContext(c), auth: c.var.auth };
}

export function requestContext(c: Context<AppEnv>): RequestContext {
  return {
    env: c.env,
    db: c.var.db,
    config: c.var.config,
    ip: c.var.ip,
    notify: (job) => {
      const sending = enqueue(c.env, [job]).catch((error) =>
        console.error(`could not queue a ${job.kind} email`, error),
      );
      try {
        c.executionCtx.waitUntil(sending);
      } catch {
        // No execution context (a direct app.fetch in tests): the promise runs on its own.
      }
    },
  };
}
