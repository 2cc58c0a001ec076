// Load with autocannon: a fixed number of connections (the concurrency), each sending its next unit
// of work as soon as the previous one is answered, for a bounded time. A unit is a request, or a
// flow of two (a two-step sign-in). Latencies are taken per unit with hrtime (fractions of a
// millisecond), so the percentiles are exact rather than read off autocannon's 1 ms buckets.
import autocannon from "autocannon";

export interface LoadResult {
  concurrency: number;
  /** Units of work answered: requests, or flows of two. */
  requests: number;
  seconds: number;
  /** Units per second: concurrency / mean latency (Little's law, closed loop). */
  rps: number;
  /** Answers per second of wall time, for comparison. */
  wallRps: number;
  p50: number;
  p99: number;
  mean: number;
  /** Units that ended outside 2xx, and connection errors or timeouts. */
  failures: number;
  statuses: Record<string, number>;
  /** True when the source ran dry before the time was up (e.g. no fresh TOTP code left). */
  exhausted: boolean;
  /**
   * CPU time of the server's processes (wrangler and workerd: the Worker, its Durable Objects and
   * local D1) per unit, in ms: the run's CPU, drained, over the answered units plus the ones still
   * in flight at the end.
   */
  serverCpuMsPerRequest: number | null;
}

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Two requests that make one unit of work (a two-step sign-in): the second is made from the first's
 * answer, and the unit's latency runs from sending the first to the answer of the second.
 */
export interface LoadFlow {
  first: LoadRequest;
  /** The second request, from the first's status and body; null when the first failed. */
  second: (status: number, body: string) => LoadRequest | null;
}

export interface LoadOptions {
  url: string;
  concurrency: number;
  seconds: number;
  /**
   * Makes each unit of work: a request, or a flow of two (every unit of a run is the same kind);
   * null when no more can be made (the run then ends early).
   */
  next: () => LoadRequest | LoadFlow | null;
  /** Reads the server's CPU time so far, in ms. */
  serverCpuMs?: () => number | null;
}

/** Hard bounds: no run lasts longer than this or sends more than this, whatever it is asked. */
const MAX_SECONDS = 60;
const MAX_REQUESTS = 200_000;
const MAX_DRAIN_MS = 10_000;

/** Something valid to send while a run is being stopped; it is not counted. */
const STOPPING: LoadRequest = { method: "GET", path: "/api/v1/health" };

function isFlow(unit: LoadRequest | LoadFlow): unit is LoadFlow {
  return "first" in unit;
}

/** What one connection knows of the unit it is sending (autocannon's per-connection context). */
interface Unit {
  flow?: LoadFlow | undefined;
  started: bigint;
  second?: LoadRequest | null;
  /** Done with, or not to be counted (sent while stopping). */
  settled: boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(options.url)) throw new Error("load goes to 127.0.0.1 only");
  const seconds = Math.min(options.seconds, MAX_SECONDS);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let failures = 0;
  let made = 0;
  let exhausted = false;
  let stoppedAt: bigint | null = null;
  // The first unit tells whether the run is of flows (two requests a unit) or of single requests.
  let pending = options.next();
  const flows = pending !== null && isFlow(pending);
  const take = () => {
    const unit = pending ?? (made < MAX_REQUESTS ? options.next() : null);
    pending = null;
    return unit;
  };
  const settle = (context: Unit, status: number) => {
    if (context.settled || stoppedAt !== null) return;
    context.settled = true;
    latencies.push(Number(process.hrtime.bigint() - context.started) / 1e6);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status < 200 || status >= 300) failures += 1;
  };
  const asRequest = (previous: autocannon.Request, next: LoadRequest): autocannon.Request => ({
    ...previous,
    method: next.method,
    path: next.path,
    headers: { ...(next.body ? { "content-type": "application/json" } : {}), ...next.headers },
    body: next.body,
  });

  const firstStep: autocannon.Request = {
    setupRequest: (previous, raw) => {
      const context = raw as Unit;
      const unit = take();
      if (!unit) {
        exhausted = true;
        context.settled = true;
        context.flow = undefined;
        context.second = null;
        return asRequest(previous, STOPPING);
      }
      made += 1;
      context.started = process.hrtime.bigint();
      context.settled = false;
      context.flow = isFlow(unit) ? unit : undefined;
      return asRequest(previous, isFlow(unit) ? unit.first : unit);
    },
    onResponse: (status, body, raw) => {
      const context = raw as Unit;
      if (!context.flow) return settle(context, status);
      context.second = context.flow.second(status, body);
      if (!context.second) settle(context, status); // the flow failed at its first step
    },
  };
  const secondStep: autocannon.Request = {
    setupRequest: (previous, raw) => asRequest(previous, (raw as Unit).second ?? STOPPING),
    onResponse: (status, _body, raw) => {
      const context = raw as Unit;
      if (context.second) settle(context, status);
    },
  };

  const cpuBefore = options.serverCpuMs?.() ?? null;
  const started = process.hrtime.bigint();
  let finish: (result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve) => {
    finish = resolve;
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.concurrency,
      duration: seconds,
      timeout: 30,
      requests: flows ? [firstStep, secondStep] : [firstStep],
    },
    (error, result) => {
      if (error) failures += 1;
      finish(result);
    },
  );
  instance.on("response", () => {
    if (exhausted && stoppedAt === null) {
      stoppedAt = process.hrtime.bigint();
      instance.stop();
    }
  });
  instance.on("reqError", () => {
    failures += 1;
  });
  const result = await done;
  // Let the units still in flight when the time was up finish, so they are not charged to the next
  // run (at c=32, 32 logins are 1.5 s of hashing); their CPU is this run's.
  const slowest = latencies.reduce((a, b) => Math.max(a, b), 0);
  await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_DRAIN_MS, slowest + 200)));
  const cpuAfter = options.serverCpuMs?.() ?? null;
  const ended = stoppedAt ?? process.hrtime.bigint();
  const elapsed = Number(ended - started) / 1e9;
  failures += result.timeouts;
  // Throughput by Little's law for a closed loop (c units always in flight): c / mean latency.
  // Counting answers per wall second instead is biased at high concurrency: at c=32 the first answers
  // arrive only after the first wave of 32 password hashes, and the units still in flight when the
  // time is up did work that is never counted. Both figures are kept (`rps` and `wallRps`).
  const meanMs = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  latencies.sort((a, b) => a - b);
  return {
    concurrency: options.concurrency,
    requests: latencies.length,
    seconds: round(elapsed, 2),
    rps: round(latencies.length > 0 ? (options.concurrency * 1000) / meanMs : Number.NaN, 1),
    wallRps: round(latencies.length / elapsed, 1),
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    mean: round(meanMs, 2),
    failures,
    statuses,
    exhausted,
    // A closed loop always has `concurrency` units in flight: those left at the end count too.
    serverCpuMsPerRequest:
      cpuBefore !== null && cpuAfter !== null && latencies.length > 0
        ? round((cpuAfter - cpuBefore) / (latencies.length + options.concurrency), 1)
        : null,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Round-robin over a list: the next item each call. */
export function cycle<T>(items: T[]): () => T {
  if (items.length === 0) throw new Error("nothing to cycle over");
  let i = 0;
  return () => items[i++ % items.length] as T;
}
