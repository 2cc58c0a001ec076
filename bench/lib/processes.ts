// Child processes of the bench: wrangler commands that run to the end, and `wrangler dev` servers
// that run until the bench stops them. Every server is the leader of its own process group, so
// stopping it stops wrangler's node process and the workerd processes it started, on success, on
// error and on Ctrl-C alike.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const OUT = join(ROOT, "bench", "out");
const BIN = join(ROOT, "node_modules", ".bin");

export const childEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  // Keeps wrangler from asking questions: nothing here has a terminal to answer them.
  CI: "true",
  // wrangler dev's local dashboard: a collector that a streaming tail sends every event of every
  // invocation to (each request, Durable Object call and D1 query), and the explorer's wrapper
  // around every Durable Object class. Both run on workerd's one thread beside the Worker, cost
  // more the more storage calls a request makes, and do not exist on Cloudflare; measured, they
  // took 13% of a login's throughput (`npm run dev` keeps them).
  X_LOCAL_OBSERVABILITY: "false",
  X_LOCAL_EXPLORER: "false",
};

/** Runs a tool from node_modules/.bin to completion; rejects with its output when it fails. */
export function run(tool: string, args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      join(BIN, tool),
      args,
      { cwd: ROOT, env: childEnv, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${tool} ${args.join(" ")} failed: ${error.message}\n${stderr}\n${stdout}`));
        else resolve(stdout);
      },
    );
  });
}

/** A port nobody listens on right now, on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** On any way out of the bench, no server is left behind. */
export function stopAllOnExit(): void {
  process.on("exit", () => {
    for (const child of running) killGroup(child, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping wrangler`);
      process.exit(130);
    });
  }
}

export interface DevServer {
  url: string;
  /** CPU time used so far by wrangler and its workerd processes, in ms (null where /proc is missing). */
  cpuMs(): number | null;
  /** Resident memory of wrangler and its workerd processes now, in bytes (null where /proc is missing). */
  rssBytes(): number | null;
  stop(): Promise<void>;
}

/**
 * The sum of `measure` over every live process of a process group, from /proc (Linux); `measure`
 * gets the pid and the fields of its stat after the command name (state, ppid, pgrp, …).
 */
function sumOverGroup(pgid: number, measure: (pid: string, fields: string[]) => number): number | null {
  let sum = 0;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const fields = (readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
        if (Number(fields[2]) === pgid) sum += measure(entry, fields);
      } catch {
        // The process ended while being read.
      }
    }
  } catch {
    return null;
  }
  return sum;
}

/** The resident memory of a process group, in bytes. */
export function groupRssBytes(pgid: number): number | null {
  return sumOverGroup(pgid, (pid) => {
    const rss = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
    return Number(rss?.[1] ?? 0) * 1024;
  });
}

const TICK_MS = 10; // Linux user and system times are in clock ticks of 1/100 s (getconf CLK_TCK)

/** The CPU time of a process group, in ms: utime (14th field of stat) and stime (15th). */
export function groupCpuMs(pgid: number): number | null {
  const ticks = sumOverGroup(pgid, (_, fields) => Number(fields[11]) + Number(fields[12]));
  return ticks === null ? null : ticks * TICK_MS;
}

export interface DevServerOptions {
  /** Where it listens on 127.0.0.1; a free port when not given. */
  port?: number;
  /** Its output; bench/out/wrangler-<name>.log when not given. */
  logPath?: string;
  timeoutMs?: number;
  /** The DevTools inspector's port; a free one when not given. */
  inspectorPort?: number;
  /** wrangler's --log-level; "info" also logs each request and each email the binding sends. */
  logLevel?: "warn" | "info";
}

/**
 * Starts `wrangler dev` on 127.0.0.1 with its own inspector port and its output in a log file,
 * and waits until `readyPath` answers.
 */
export async function startWranglerDev(
  name: string,
  args: string[],
  readyPath: string,
  options: DevServerOptions = {},
): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const inspectorPort = options.inspectorPort ?? (await freePort());
  const logPath = options.logPath ?? join(OUT, `wrangler-${name}.log`);
  const timeoutMs = options.timeoutMs ?? 90_000;
  const log = openSync(logPath, "w");
  const child = spawn(
    join(BIN, "wrangler"),
    [
      "dev",
      ...args,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      "--log-level",
      options.logLevel ?? "warn",
    ],
    { cwd: ROOT, env: childEnv, detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = {
    url,
    cpuMs: () => (child.pid === undefined ? null : groupCpuMs(child.pid)),
    rssBytes: () => (child.pid === undefined ? null : groupRssBytes(child.pid)),
    async stop() {
      killGroup(child, "SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) killGroup(child, "SIGKILL");
      // workerd may outlive wrangler's node process by a moment; the group kill reaches it too.
      killGroup(child, "SIGKILL");
      running.delete(child);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev (${name}) exited early; see ${logPath}`);
    try {
      const response = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return server;
    } catch {
      await sleep(250);
    }
  }
  await server.stop();
  throw new Error(`wrangler dev (${name}) did not answer within ${timeoutMs / 1000} s; see ${logPath}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
