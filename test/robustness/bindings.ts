// Wrappers around the real bindings of the test runtime: they count what passes through, or make one
// call fail, and hand everything else on to the real D1 database and the real Durable Objects.
// This is fault injection and measurement, not a mock: every query still runs against real storage.
import { env } from "cloudflare:workers";
import { app } from "../../src/app";

/** One trip to D1: a statement run on its own, a batch, or an exec. */
export interface D1Trip {
  kind: "statement" | "batch" | "exec";
  sql: string[];
}

/**
 * What to do with one round trip before it runs. `fail` throws a D1 error without touching the
 * database; `failInsideBatch` splices a statement that fails at run time into the batch at that
 * position, so D1 really executes the statements before it and must roll them back.
 */
export type D1Fault = { kind: "fail" } | { kind: "failInsideBatch"; position: number };

export interface D1Options {
  /** Chooses a fault for the round trip numbered `index` (1-based), or none. */
  faultAt?: (trip: D1Trip, index: number) => D1Fault | undefined;
  /**
   * Runs before the round trip is sent, and the trip waits for it: another request's write landing
   * just before this one, to force an interleaving of two requests.
   */
  beforeTrip?: (trip: D1Trip, index: number) => Promise<void> | void;
}

const FAULT_MESSAGE = "D1_ERROR: injected fault: Network connection lost";
/**
 * A statement that compiles and fails only when it runs (malformed JSON), so the statements before
 * it in the batch have already run when it fails, and D1 must roll them back.
 */
const FAILING_SQL = "select json('injected fault: D1 failed in the middle of a batch')";

/**
 * A promise that rejects after a turn of the event loop, as a call that went out and came back
 * failed does. (One rejected at once would be reported as unhandled before its caller awaits it.)
 */
function failLater(message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), 0));
}

export function instrumentD1(real: D1Database, options: D1Options = {}) {
  const trips: D1Trip[] = [];
  const unwrapped = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<object, string>();

  const record = (trip: D1Trip): D1Fault | undefined => {
    trips.push(trip);
    return options.faultAt?.(trip, trips.length);
  };
  const sendWhenReady = <T>(trip: D1Trip, send: () => Promise<T>): Promise<T> => {
    if (!options.beforeTrip) return send();
    return Promise.resolve(options.beforeTrip(trip, trips.length)).then(send);
  };

  const wrapStatement = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") {
          return (...values: unknown[]) => wrapStatement(target.bind(...values), sql);
        }
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => {
            const trip: D1Trip = { kind: "statement", sql: [sql] };
            if (record(trip)) return failLater(FAULT_MESSAGE);
            // biome-ignore lint/suspicious/noExplicitAny: forwarding whichever overload was called
            return sendWhenReady(trip, () => (target[prop] as any).apply(target, args));
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    unwrapped.set(proxy, statement);
    sqlOf.set(proxy, sql);
    return proxy;
  };

  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          const sql = statements.map((s) => sqlOf.get(s) ?? "?");
          const trip: D1Trip = { kind: "batch", sql };
          const fault = record(trip);
          const realStatements = statements.map((s) => unwrapped.get(s) ?? s);
          if (fault?.kind === "fail") return failLater(FAULT_MESSAGE);
          if (fault?.kind === "failInsideBatch") {
            realStatements.splice(fault.position, 0, target.prepare(FAILING_SQL));
          }
          return sendWhenReady(trip, () => target.batch(realStatements));
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          if (record({ kind: "exec", sql: [sql] })) return failLater(FAULT_MESSAGE);
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, trips };
}

/** One call to a Durable Object stub: the object's name and the method. */
export interface ObjectCall {
  object: string;
  method: string;
}

export interface ObjectOptions {
  /** When true for a call, the call is refused as an unreachable object would refuse it. */
  fail?: (call: ObjectCall) => boolean;
}

const NOT_RPC = new Set<PropertyKey>(["id", "name", "then"]);

export function instrumentObjects<T extends Rpc.DurableObjectBranded | undefined>(
  real: DurableObjectNamespace<T>,
  options: ObjectOptions = {},
) {
  const calls: ObjectCall[] = [];
  const wrapStub = (stub: DurableObjectStub<T>, object: string) =>
    new Proxy(stub, {
      get(target, prop) {
        if (typeof prop !== "string" || NOT_RPC.has(prop)) return Reflect.get(target, prop);
        return (...args: unknown[]) => {
          const call = { object, method: prop };
          calls.push(call);
          if (options.fail?.(call)) {
            // What an RPC call to an object that cannot be reached does: a rejected promise.
            return failLater("injected fault: Durable Object is overloaded");
          }
          // biome-ignore lint/suspicious/noExplicitAny: forwarding an RPC call as it was made
          return (target as any)[prop](...args);
        };
      },
    });

  const namespace = new Proxy(real, {
    get(target, prop) {
      if (prop === "getByName") {
        return (name: string, ...rest: unknown[]) =>
          // biome-ignore lint/suspicious/noExplicitAny: the optional arguments are passed on unchanged
          wrapStub((target.getByName as any)(name, ...rest), name);
      }
      if (prop === "get") {
        return (id: DurableObjectId, ...rest: unknown[]) =>
          // biome-ignore lint/suspicious/noExplicitAny: the optional arguments are passed on unchanged
          wrapStub((target.get as any)(id, ...rest), id.name ?? id.toString());
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { namespace, calls };
}

/**
 * An environment whose D1 and attempt-counter bindings are instrumented, and a fetch through the
 * app with it. Each environment is a new object, so the app reads its configuration afresh.
 */
export function instrumentedEnv(d1: D1Options = {}, objects: ObjectOptions = {}) {
  const { db, trips } = instrumentD1(env.DB, d1);
  const { namespace, calls } = instrumentObjects(env.ATTEMPTS, objects);
  const instrumented: Env = { ...env, DB: db, ATTEMPTS: namespace };
  return {
    env: instrumented,
    trips,
    calls,
    fetch: (request: Request) => app.fetch(request, instrumented),
  };
}

export const ORIGIN = "http://localhost";

/** A JSON request to the API, as the tests' `call` helper makes it, for use with app.fetch. */
export function apiRequest(method: string, path: string, options: { body?: unknown; token?: string } = {}) {
  const headers = new Headers();
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  return new Request(`${ORIGIN}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
export async function readJson(response: Response): Promise<{ status: number; json: any }> {
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}
