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
  /** The client's User-Agent header, as sent (bounded), for the sessions it opens. */
  userAgent: string | null;
  /** Queues an email after the response; a failure to queue is logged and never fails the request. */
  notify: (job: EmailJob) => void;
  /** Runs work after the response (its failure is logged), so its cost never shows in the answer. */
  defer: (task: () => Promise<unknown>) => void;
}

/** The request context plus who is signed in: what the signed-in user's own actions (MFA) take. */
export type SignedInContext = RequestContext & { auth: Authenticated };

/** What an admin's actions on their tenant take: the same, the signed-in user being an admin. */
export type AdminContext = SignedInContext;

export function signedInContext(c: Context<AppEnv>): SignedInContext {
  return { ...requestContext(c), auth: c.var.auth };
}

/** Longer user agents are cut: the header is the client's to fill, the row is ours. */
const USER_AGENT_MAX_LENGTH = 256;

/** Runs `task` after the response; its failure is logged and never reaches the client. */
export function deferAfterResponse(c: Context<AppEnv>, task: () => Promise<unknown>, what: string): void {
  const running = task().catch((error) => console.error(`${what} failed after the response`, error));
  try {
    c.executionCtx.waitUntil(running);
  } catch {
    // No execution context (a direct app.fetch in tests): the promise runs on its own.
  }
}

export function requestContext(c: Context<AppEnv>): RequestContext {
  const defer = (task: () => Promise<unknown>, what: string) => deferAfterResponse(c, task, what);
  return {
    env: c.env,
    db: c.var.db,
    config: c.var.config,
    ip: c.var.ip,
    userAgent: c.req.header("user-agent")?.slice(0, USER_AGENT_MAX_LENGTH) || null,
    notify: (job) => defer(() => enqueue(c.env, [job]), `queueing a ${job.kind} email`),
    defer: (task) => defer(task, "deferred work"),
  };
}
