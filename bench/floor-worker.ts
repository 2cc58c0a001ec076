// A bench-only Worker: the floors a login is compared with, run in workerd under `wrangler dev` like
// the service itself.
// - GET /pbkdf2?n=K&iterations=I: K password derivations in a row with the project's own code and
//   parameters (PBKDF2-HMAC-SHA256, 100,000 iterations unless the bench asks for fewer, 32 bytes,
//   after the pepper's HMAC). The bench times n=K against n=0 from outside, so the HTTP path cancels.
// - POST /storage/password?account=A and POST /storage/code?account=A: the storage calls a sign-in
//   must make, with the hash, and nothing else of ours (no routing, validation, tokens or SQL
//   building). The password step reads a row from D1, derives the hash, asks two Durable Objects
//   (the account's and the address's) in parallel and writes a row; the code step reads a row, asks
//   the account's object and writes a batch of two statements. They are what any sign-in that keeps
//   the attempt budgets exact can reach on this runtime, which shares one thread among the Worker,
//   its objects and local D1.
import { DurableObject } from "cloudflare:workers";
import { DUMMY_PASSWORD_HASH, PBKDF2_ITERATIONS, verifyPasswordHash } from "../src/auth/password";

const MAX_DERIVATIONS = 200;
const pepper = new Uint8Array(32);

interface FloorEnv {
  DB: D1Database;
  COUNTER: DurableObjectNamespace<FloorCounter>;
}

/** Reads one key, as an attempt counter with nothing recorded does. */
export class FloorCounter extends DurableObject {
  check(bucket: string): boolean {
    return this.ctx.storage.kv.get<number>(bucket) === undefined;
  }
}

/** The stored form names its count: the same hash, derived `iterations` times. */
function storedHash(url: URL): string {
  const iterations = Number(url.searchParams.get("iterations") ?? PBKDF2_ITERATIONS) | 0;
  return DUMMY_PASSWORD_HASH.replace(`$${PBKDF2_ITERATIONS}$`, `$${iterations}$`);
}

let tablesMade: Promise<unknown> | undefined;
function makeTables(db: D1Database) {
  tablesMade ??= db.batch([
    db.prepare("create table if not exists accounts (id integer primary key, hash text, last_at integer)"),
    db.prepare("create table if not exists signins (id text primary key, account integer, at integer)"),
    db
      .prepare("insert or ignore into accounts (id, hash, last_at) select value, 'x', 0 from json_each(?1)")
      .bind(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => i))),
  ]);
  return tablesMade;
}

async function storageStep(env: FloorEnv, url: URL, step: "password" | "code"): Promise<Response> {
  await makeTables(env.DB);
  const account = Number(url.searchParams.get("account") ?? "0") | 0;
  const row = await env.DB.prepare("select id, hash from accounts where id = ?1").bind(account).first();
  if (!row) return new Response("no account", { status: 404 });
  const id = crypto.randomUUID();
  const write = env.DB.prepare("insert into signins (id, account, at) values (?1, ?2, ?3)").bind(
    id,
    account,
    Date.now(),
  );
  const counter = env.COUNTER.getByName(`account:${account}`);
  if (step === "password") {
    await verifyPasswordHash("password", storedHash(url), pepper);
    await Promise.all([counter.check("password"), env.COUNTER.getByName("ip:127.0.0.1").check("password")]);
    await write.run();
  } else {
    await counter.check("mfa");
    const claim = env.DB.prepare("update accounts set last_at = ?1 where id = ?2").bind(Date.now(), account);
    await env.DB.batch([claim, write]);
  }
  return Response.json({ id });
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/storage/password") return storageStep(env, url, "password");
    if (url.pathname === "/storage/code") return storageStep(env, url, "code");
    if (url.pathname !== "/pbkdf2") return new Response("not found", { status: 404 });
    const n = Math.min(MAX_DERIVATIONS, Math.max(0, Number(url.searchParams.get("n") ?? "1") | 0));
    const stored = storedHash(url);
    const started = performance.now();
    for (let i = 0; i < n; i++) await verifyPasswordHash(`password-${i}`, stored, pepper);
    // workerd advances its clocks only at I/O, so this figure is reported but not relied on.
    const insideMs = performance.now() - started;
    return Response.json({ n, insideMs });
  },
} satisfies ExportedHandler<FloorEnv>;
