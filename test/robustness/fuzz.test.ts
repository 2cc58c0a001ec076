// Property-based fuzzing of every JSON endpoint, listed from the OpenAPI document (so a new endpoint
// is fuzzed without touching this file): random bodies (any JSON value, wrong types, huge strings,
// deep nesting, bytes that are not JSON), random headers and random or tampered tokens. Whatever
// arrives, the answer is never a 5xx, and every 4xx has the documented shape
// {"error": {"code", "message"}} with a code from the table whose status it carries.
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { prepareSession } from "../../src/auth/sessions";
import { sessions } from "../../src/db/schema";
import { ERRORS } from "../../src/errors";
import { addUser, config, createTenant, db, TEST_CLIENT } from "../helpers/factory";
import { enrollMfa } from "../helpers/totp";

const ORIGIN = "http://localhost";
const RUNS_PER_ENDPOINT = 60;
const FUZZ_TIMEOUT_MS = 60_000;

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
}

interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  /** Property names of the JSON body schema, when the operation takes a body. */
  bodyFields: string[] | null;
}

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is read as plain JSON
type Json = any;

/** Every operation of the API, from the document the Worker serves. */
async function listOperations(): Promise<Operation[]> {
  const response = await exports.default.fetch(new Request(`${ORIGIN}/api/v1/openapi.json`));
  const doc: Json = await response.json();
  const resolve = (schema: Json): Json =>
    schema?.$ref ? doc.components.schemas[String(schema.$ref).split("/").pop() as string] : schema;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const [method, operation] of Object.entries<Json>(item)) {
      const body = resolve(operation.requestBody?.content?.["application/json"]?.schema);
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []).map(resolve),
        bodyFields: body ? Object.keys(body.properties ?? {}) : null,
      });
    }
  }
  return operations;
}

const operations = await listOperations();

/** Accounts the fuzzer aims at: an admin and an MFA member of one tenant, and another tenant. */
async function makeTargets() {
  const { tenantId, admin } = await createTenant();
  const member = await enrollMfa(await addUser(tenantId));
  const other = await createTenant();
  return { tenantId, admin, member, otherTenantId: other.tenantId };
}
type Targets = Awaited<ReturnType<typeof makeTargets>>;

const accountRows = new Map<string, Record<string, unknown>>();

/** Puts the targets' accounts back as they were first seen (the fuzzer may delete or change them). */
async function restoreAccounts(targets: Targets): Promise<void> {
  for (const id of [targets.admin.user.id, targets.member.user.id]) {
    let row = accountRows.get(id);
    if (!row) {
      row = (await env.DB.prepare("select * from users where id = ?").bind(id).first()) ?? undefined;
      if (!row) throw new Error(`target ${id} is gone before the first run`);
      accountRows.set(id, row);
    }
    const columns = Object.keys(row);
    await env.DB.prepare(
      `insert or replace into users (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})`,
    )
      .bind(...Object.values(row))
      .run();
  }
}

/** A fresh live session for a user, written directly (no password hash: the fuzzer needs many). */
async function mintToken(user: Targets["admin"]["user"]) {
  const session = await prepareSession("session", user, TEST_CLIENT, config.sessionSigningKey);
  await db.insert(sessions).values(session.row);
  return session.token;
}

// ---- arbitraries ---------------------------------------------------------------------------------

const hugeString = fc.integer({ min: 1_000, max: 40_000 }).map((n) => "x".repeat(n));
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("", " ", "\u0000", "١٢٣٤٥٦", "１２３４５６", "12345", "1234567", "123 456", "-", "null"),
  hugeString,
);
const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 5_000 }), fc.constantFrom("[", '{"a":'))
  .map(([depth, open]) => {
    const close = open === "[" ? "]" : "}";
    return `${open.repeat(depth)}1${close.repeat(depth)}`;
  });
const anyJson = fc.jsonValue({ maxDepth: 6 });
/** A value for one field: plausible, of the wrong type, or enormous. */
const fieldValue = fc.oneof(
  weirdString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 60 }),
  anyJson,
);

/** A raw body: none, JSON of some shape, or bytes that are not JSON. */
function bodyArbitrary(fields: string[] | null, plausible: Record<string, unknown>) {
  const model = Object.fromEntries(
    (fields ?? []).map((f) => [
      f,
      f in plausible
        ? fc.oneof({ weight: 3, arbitrary: fc.constant(plausible[f]) }, { weight: 1, arbitrary: fieldValue })
        : fieldValue,
    ]),
  );
  // Every field present (mostly plausible, so some bodies pass validation), or any subset of them.
  const record = fc.oneof(
    { weight: 3, arbitrary: fc.record(model) },
    { weight: 1, arbitrary: fc.record(model, { requiredKeys: [] }) },
  );
  const shaped =
    fields && fields.length > 0
      ? record
          .chain((record) =>
            fc.oneof(
              fc.constant(record),
              fc.dictionary(fc.string({ maxLength: 12 }), fieldValue, { maxKeys: 3 }).map((extra) => ({
                ...extra,
                ...record,
              })),
            ),
          )
          .map((value) => JSON.stringify(value))
      : fc.constant("{}");
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: shaped },
    { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: hugeString.map((s) => JSON.stringify({ [fields?.[0] ?? "x"]: s })) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom("{", '{"a":1,}', "\u0000", "[", '{"a":"\\ud800"}', "nul") },
  );
}

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/json;charset=latin1",
      "application/jsonx",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    ),
    fc.string({ maxLength: 40 }),
  ),
  { freq: 5 },
);

type TokenChoice =
  | { kind: "none" }
  | { kind: "valid"; who: "admin" | "member" }
  | { kind: "flipped"; at: number; char: string }
  | { kind: "alg-none" }
  | { kind: "wrong-key" }
  | { kind: "forged-claims"; sub: string; sid: string; tid: string; typ: string }
  | { kind: "random"; value: string };

const tokenChoice: fc.Arbitrary<TokenChoice> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.constantFrom("admin" as const, "member" as const).map((who) => ({ kind: "valid" as const, who })),
  // Characters of the base64url alphabet, the separator, and some outside it ("!", "=", "+").
  fc
    .tuple(fc.nat(), fc.constantFrom("A", "_", "-", ".", "z", "0", "!", "=", "+"))
    .map(([at, char]) => ({ kind: "flipped" as const, at, char })),
  fc.constant({ kind: "alg-none" as const }),
  fc.constant({ kind: "wrong-key" as const }),
  fc.record({
    kind: fc.constant("forged-claims" as const),
    sub: weirdString,
    sid: weirdString,
    tid: weirdString,
    typ: fc.constantFrom("session+jwt", "enrollment+jwt", "JWT"),
  }),
  fc.oneof(fc.string(), hugeString, fc.constantFrom("a.b.c", "..", "e30.e30.e30")).map((value) => ({
    kind: "random" as const,
    value,
  })),
);

const authorizationStyle = fc.constantFrom("Bearer ", "bearer ", "Bearer  ", "Basic ", "", "cookie");

const originHeader = fc.option(
  fc.constantFrom(ORIGIN, "https://evil.example", "null", "http://localhost:8787", ""),
  { freq: 3 },
);
const secFetchSite = fc.option(fc.constantFrom("same-origin", "cross-site", "same-site", "none"), {
  freq: 3,
});

function pathValue(name: string, targets: Targets) {
  const real =
    name === "tenantID"
      ? fc.constantFrom(targets.tenantId, targets.tenantId, targets.tenantId, targets.otherTenantId)
      : name === "userID"
        ? // Mostly the member: an admin's own id is refused (no reset of one's own MFA), before any work.
          fc.oneof(
            { weight: 5, arbitrary: fc.constant(targets.member.user.id) },
            { weight: 1, arbitrary: fc.constant(targets.admin.user.id) },
          )
        : weirdString;
  return fc.oneof(
    { weight: 8, arbitrary: real },
    { weight: 1, arbitrary: weirdString.filter((s) => s.length > 0) },
    { weight: 1, arbitrary: fc.constantFrom("..", "%2e%2e", "a/b", "%00", "x".repeat(300)) },
  );
}

const queryValue = fc.oneof(
  fc.constantFrom("0", "1", "-1", "200", "201", "1e3", "NaN", "", "enabled", "disabled", "AAAA", "%%%"),
  fc.integer().map(String),
  weirdString,
);

// ---- building a request from the drawn values ---------------------------------------------------

async function tokenFor(choice: TokenChoice, targets: Targets): Promise<string | undefined> {
  const valid = () => mintToken(targets.admin.user);
  switch (choice.kind) {
    case "none":
      return undefined;
    case "valid":
      return mintToken(choice.who === "admin" ? targets.admin.user : targets.member.user);
    case "flipped": {
      const token = await valid();
      const at = choice.at % token.length;
      return token.slice(0, at) + choice.char + token.slice(at + 1);
    }
    case "alg-none":
      return new UnsecuredJWT({ sub: targets.admin.user.id, sid: "x", tid: targets.tenantId }).encode();
    case "wrong-key":
      return new SignJWT({ sid: "x", tid: targets.tenantId })
        .setProtectedHeader({ alg: "HS256", typ: "session+jwt" })
        .setSubject(targets.admin.user.id)
        .setExpirationTime("1h")
        .sign(crypto.getRandomValues(new Uint8Array(32)));
    case "forged-claims":
      // Signed with the real key, so the claims themselves reach the session lookup.
      return new SignJWT({ sid: choice.sid, tid: choice.tid })
        .setProtectedHeader({ alg: "HS256", typ: choice.typ })
        .setIssuer("edge-mfa")
        .setAudience("edge-mfa-api")
        .setSubject(choice.sub)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(config.sessionSigningKey);
    case "random":
      return choice.value;
  }
}

/** How the request is wrapped: headers, token and the way it is sent. */
interface Envelope {
  contentType: string | null;
  token: TokenChoice;
  authorization: string;
  origin: string | null;
  site: string | null;
}

interface Drawn extends Envelope {
  params: Record<string, string>;
  query: [string, string][];
  body: string | undefined;
}

/**
 * Most runs send a well-formed envelope (a live token, JSON, our origin) so the random body and
 * parameters reach the route's own validation and handler; the rest randomise the envelope too.
 */
const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      contentType: fc.constant("application/json"),
      token: fc.constantFrom<TokenChoice>(
        { kind: "valid", who: "admin" },
        { kind: "valid", who: "admin" },
        { kind: "valid", who: "admin" },
        { kind: "valid", who: "member" },
      ),
      authorization: fc.constant("Bearer "),
      origin: fc.constantFrom(null, ORIGIN),
      site: fc.constantFrom(null, "same-origin"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      contentType,
      token: tokenChoice,
      authorization: authorizationStyle,
      origin: originHeader,
      site: secFetchSite,
    }),
  },
);

async function buildRequest(operation: Operation, drawn: Drawn, targets: Targets): Promise<Request> {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(drawn.params[name] ?? "x"),
  );
  const url = new URL(`${ORIGIN}${path}`);
  for (const [name, value] of drawn.query) url.searchParams.append(name, value);
  const headers = new Headers();
  if (drawn.contentType !== null) headers.set("content-type", drawn.contentType);
  if (drawn.origin !== null) headers.set("origin", drawn.origin);
  if (drawn.site !== null) headers.set("sec-fetch-site", drawn.site);
  const token = await tokenFor(drawn.token, targets);
  if (token !== undefined) {
    // Header values cannot hold every character: a token that is not a valid header value is sent
    // as the header would arrive after a proxy cleaned it, which is what the Worker could see.
    const clean = token.replace(/[^\t\x20-\x7e]/g, "?");
    if (drawn.authorization === "cookie")
      headers.set("cookie", `__Host-session=${encodeURIComponent(clean)}`);
    else headers.set("authorization", `${drawn.authorization}${clean}`);
  }
  const hasBody = operation.method !== "GET" && operation.method !== "HEAD";
  return new Request(url, { method: operation.method, headers, body: hasBody ? drawn.body : undefined });
}

/** Throws, naming the request, unless the answer is below 500 and, for a 4xx, the documented error. */
function expectDocumentedAnswer(response: Response, text: string, label: () => string): void {
  const fail = (why: string) => {
    throw new Error(`${why}: ${response.status} ${text.slice(0, 300)}\n  for ${label()}`);
  };
  if (response.status >= 500) fail("a 5xx answer");
  if (response.status < 400) return;
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    fail("an error that is not JSON");
  }
  const error = body?.error;
  if (typeof error?.code !== "string" || typeof error?.message !== "string")
    fail("an error of another shape");
  const known = (ERRORS as Record<string, readonly [number, string]>)[error.code];
  if (!known) fail(`an error code that is not in the table (${error.code})`);
  if (known?.[0] !== response.status) fail(`code ${error.code} with status ${response.status}`);
  const extra = Object.keys(body).filter((k) => k !== "error");
  const extraInError = Object.keys(error).filter((k) => !["code", "message", "details"].includes(k));
  if (extra.length > 0 || extraInError.length > 0) fail("an error with undocumented fields");
}

/** Codes the middleware answers with before a route's own validation and handler run. */
const MIDDLEWARE_CODES = new Set([
  "unauthorized",
  "forbidden",
  "unsupported_media_type",
  "payload_too_large",
  "invalid_json",
  "not_found",
]);

function reachedHandler(status: number, text: string): boolean {
  if (status < 400) return true;
  try {
    return !MIDDLEWARE_CODES.has(JSON.parse(text).error.code);
  } catch {
    return false;
  }
}

// ---- the properties -----------------------------------------------------------------------------

describe("fuzzing every endpoint of the OpenAPI document", () => {
  it("finds the endpoints in the document", () => {
    expect(operations.length).toBeGreaterThanOrEqual(10);
    expect(operations.map((o) => `${o.method} ${o.path}`)).toContain("POST /api/v1/auth/login");
  });

  it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))(
    "%s never answers 5xx, and every 4xx has the documented error shape",
    async (_, operation) => {
      const targets = await makeTargets();
      const plausible: Record<string, unknown> = {
        username: targets.member.username,
        password: targets.member.password,
        tenant_id: targets.tenantId,
        code: "123456",
        mfa_code: "123456",
        email: "someone@example.com",
        role: "member",
        mfa_required: false,
        mfa_grace_period_days: 3,
        user_ids: [targets.member.user.id],
      };
      const pathNames = operation.parameters.filter((p) => p.in === "path").map((p) => p.name);
      const queryNames = operation.parameters.filter((p) => p.in === "query").map((p) => p.name);
      const drawn: fc.Arbitrary<Drawn> = fc
        .tuple(
          fc.record({
            params: fc.record(Object.fromEntries(pathNames.map((n) => [n, pathValue(n, targets)]))),
            query: fc.array(
              fc.tuple(
                queryNames.length > 0 ? fc.constantFrom(...queryNames, "x") : fc.constant("x"),
                queryValue,
              ),
              { maxLength: 4 },
            ),
            body: bodyArbitrary(operation.bodyFields, plausible),
          }),
          envelope,
        )
        .map(([request, wrapping]) => ({ ...request, ...wrapping }));

      let reached = 0;
      await fc.assert(
        fc.asyncProperty(drawn, async (values) => {
          // A drawn PATCH may have required MFA for the tenant, or deactivated, demoted or deleted
          // the member; start each run from the same settings and accounts.
          await env.DB.prepare("update tenants set mfa_required = 0, mfa_enforced_since = null where id = ?")
            .bind(targets.tenantId)
            .run();
          await restoreAccounts(targets);
          const request = await buildRequest(operation, values, targets);
          const response = await exports.default.fetch(request);
          const text = await response.text();
          if (reachedHandler(response.status, text)) reached += 1;
          expectDocumentedAnswer(
            response,
            text,
            () => `${request.method} ${request.url} ${JSON.stringify(values).slice(0, 500)}`,
          );
        }),
        { numRuns: RUNS_PER_ENDPOINT, endOnFailure: true },
      );
      // The fuzzer stays useful only while its requests get past the middleware to the route.
      expect(reached).toBeGreaterThanOrEqual(RUNS_PER_ENDPOINT / 20);
    },
    FUZZ_TIMEOUT_MS,
  );
});
