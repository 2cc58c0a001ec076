// `npm run profile`: where a sign-in's CPU goes, beyond the password hash. Serves the Worker from
// source (not minified, so functions keep their names) under wrangler dev with its own state,
// seeds one tenant with a user without MFA and one with, then takes a CPU profile through the
// inspector (the DevTools protocol's Profiler) while it signs in many times: password-only
// sign-ins, then full two-step MFA sign-ins with the mfa_token. Prints the self time by module and
// the heaviest functions outside the hash, per sign-in, and writes each profile to bench/out/profile
// (open it in Chrome DevTools' Performance panel). The sampler's figures for small functions are
// rough: it costs time itself, and charges native calls to the caller.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { round } from "../bench/lib/load";
import { freePort, OUT, startWranglerDev, stopAllOnExit } from "../bench/lib/processes";
import { createMember, enrollMfa, inParallel, signIn } from "../bench/lib/seed";
import { TotpPool } from "../bench/lib/totp-pool";
import { applyMigrations } from "./d1";
import { developmentVars, randomPassword, randomSecrets, writeVarsFile } from "./dev-vars";
import { createTenantWithAdmin } from "./operator";

const SIGN_INS = Number(process.env.PROFILE_SIGN_INS ?? 150);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A DevTools protocol session over the inspector's WebSocket. */
async function inspect(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.at(-1);
  if (!target) throw new Error("no inspector target");
  // The inspector proxy wants an Origin on this machine (undici's WebSocket takes headers).
  const socket = new WebSocket(target.webSocketDebuggerUrl, {
    headers: { origin: "http://127.0.0.1" },
  } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      id += 1;
      pending.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

/** Self time per category and per function, in ms, from a sampled profile. */
function summarise(profile: Profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((sample, i) => {
    self.set(sample, (self.get(sample) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [nodeId, ms] of self) {
    const frame = byId.get(nodeId)?.callFrame;
    if (!frame) continue;
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + ms);
    const name = `${frame.functionName || "(anonymous)"} ${module}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
  }
  return { modules, functions };
}

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const at = url.lastIndexOf("node_modules/");
  if (at >= 0) {
    const parts = url.slice(at + 13).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const src = url.indexOf("/src/");
  return src >= 0 ? url.slice(src + 1).replace(/\.tsx?$/, "") : url;
}

function top(map: Map<string, number>, n: number, per: number) {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([name, ms]) =>
        `  ${round(ms / per, 3)
          .toFixed(3)
          .padStart(7)} ms  ${name}`,
    )
    .join("\n");
}

async function main() {
  stopAllOnExit();
  const dir = join(OUT, "profile");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const secrets = { ...randomSecrets("prof"), ...developmentVars("http://localhost") };
  const envFile = join(dir, "secrets.env");
  writeVarsFile(envFile, secrets);
  const state = join(dir, "state");
  applyMigrations({ persistTo: state });
  const password = randomPassword();
  await createTenantWithAdmin(
    { persistTo: state },
    {
      tenantId: "prof",
      name: "Profile",
      username: "admin",
      email: "admin@prof.example",
      password,
      pepper: Buffer.from(secrets.PASSWORD_PEPPER, "base64"),
      auditKey: Buffer.from(secrets.AUDIT_SIGNING_KEY, "base64"),
    },
  );
  const inspectorPort = await freePort();
  const server = await startWranglerDev(
    "profile",
    ["--persist-to", state, "--env-file", envFile, "--minify=false"],
    "/api/v1/health",
    { inspectorPort },
  );
  try {
    const url = server.url;
    const admin = await signIn(url, { tenantId: "prof", username: "admin", password });
    const plain = { tenantId: "prof", username: "plain", password };
    await createMember(url, admin, plain);
    // One MFA user per sign-in: each TOTP step is accepted once per user.
    const mfaUsers = Array.from({ length: SIGN_INS }, (_, i) => ({
      tenantId: "prof",
      username: `mfa${i}`,
      password,
    }));
    await inParallel(mfaUsers, 4, (who) => createMember(url, admin, who));
    const pool = new TotpPool(await inParallel(mfaUsers, 4, (who) => enrollMfa(url, who)));
    await pool.prepare(120);
    const post = (body: object) =>
      fetch(`${url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, string> }));
    const login = { tenant_id: "prof", username: "plain", password };
    for (let i = 0; i < 20; i++) await post(login); // warm the isolate and the objects
    const inspector = await inspect(inspectorPort);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 100 });

    const measure = async (name: string, signInOnce: () => Promise<void>) => {
      await inspector.send("Profiler.start");
      const started = performance.now();
      for (let i = 0; i < SIGN_INS; i++) await signInOnce();
      const wall = performance.now() - started;
      const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
      writeFileSync(join(dir, `${name.replace(/[^a-z]+/gi, "-")}.cpuprofile`), JSON.stringify(profile));
      const { modules, functions } = summarise(profile);
      const busy = [...modules].filter(([m]) => m !== "(idle)").reduce((sum, [, ms]) => sum + ms, 0);
      console.log(
        `\n${name}: ${SIGN_INS} sign-ins, ${round(wall / SIGN_INS, 2)} ms each from outside, ${round(busy / SIGN_INS, 2)} ms CPU sampled in the Worker's isolate each`,
      );
      console.log(`self time per sign-in, by module:\n${top(modules, 14, SIGN_INS)}`);
      const outsideHash = new Map([...functions].filter(([name]) => !name.startsWith("(")));
      console.log(
        `heaviest functions of ours and our libraries, per sign-in:\n${top(outsideHash, 25, SIGN_INS)}`,
      );
    };

    await measure("password sign-in, no MFA", async () => {
      const answer = await post(login);
      if (answer.status !== 200) throw new Error(`sign-in failed: ${answer.status}`);
    });
    await measure("two-step MFA sign-in with the mfa_token", async () => {
      const next = pool.next();
      if (!next) throw new Error("no fresh TOTP code");
      const who = { tenant_id: "prof", username: next.user.username };
      const first = await post({ ...who, password });
      const second = await post({ ...who, mfa_token: first.json.mfa_token, mfa_code: next.code });
      if (second.status !== 200)
        throw new Error(`second step failed: ${second.status} ${JSON.stringify(second.json)}`);
    });
    inspector.close();
  } finally {
    await server.stop();
  }
}

await main();
