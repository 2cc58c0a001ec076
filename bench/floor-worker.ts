// A bench-only Worker: the floor of a login, one password derivation with the project's own code and
// parameters (PBKDF2-HMAC-SHA256, 100,000 iterations unless the bench asks for fewer, 32 bytes,
// after the pepper's HMAC), run in workerd under `wrangler dev` like the service itself.
// GET /pbkdf2?n=K&iterations=I runs K derivations in a row; the bench times n=K against n=0 from
// outside, so the HTTP path cancels out.
import { DUMMY_PASSWORD_HASH, PBKDF2_ITERATIONS, verifyPasswordHash } from "../src/auth/password";

const MAX_DERIVATIONS = 200;
const pepper = new Uint8Array(32);

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/pbkdf2") return new Response("not found", { status: 404 });
    const n = Math.min(MAX_DERIVATIONS, Math.max(0, Number(url.searchParams.get("n") ?? "1") | 0));
    const iterations = Number(url.searchParams.get("iterations") ?? PBKDF2_ITERATIONS) | 0;
    // The stored form names its count: the same hash, derived `iterations` times.
    const stored = DUMMY_PASSWORD_HASH.replace(`$${PBKDF2_ITERATIONS}$`, `$${iterations}$`);
    const started = performance.now();
    for (let i = 0; i < n; i++) await verifyPasswordHash(`password-${i}`, stored, pepper);
    // workerd advances its clocks only at I/O, so this figure is reported but not relied on.
    const insideMs = performance.now() - started;
    return Response.json({ n, insideMs });
  },
} satisfies ExportedHandler;
