// The OpenAPI document: complete enough for a client generator or a contract test to rely on.
// test/helpers/contract.ts checks every answer the suite receives against it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/document";
import { loadConfig } from "../../src/env";
import { call } from "../helpers/http";

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
async function document(): Promise<any> {
  const response = await call("GET", "/api/v1/openapi.json");
  expect(response.status).toBe(200);
  return response.json;
}

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Json = any;

interface Operation {
  operationId: string;
  security?: unknown;
  requestBody?: unknown;
  responses: Record<string, { description: string; headers: Record<string, { required?: boolean }> }>;
}

function operations(doc: {
  paths: Record<string, Record<string, Operation>>;
}): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => [method, path, op] as [string, string, Operation]),
  );
}

describe("OpenAPI document", () => {
  it("is served as the routes describe it (the static asset npm run openapi writes is current)", async () => {
    // The served one names the configured origin as its server; the routes' own does too.
    expect(await document()).toEqual(JSON.parse(JSON.stringify(openApiDocument(loadConfig(env)))));
  });

  it("is OpenAPI 3.1 with a license, the configured server, and the two ways to sign in", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.license).toEqual({ name: "Proprietary" });
    expect(doc.servers).toEqual([{ url: "http://localhost" }]);
    const login = doc.paths["/api/v1/auth/login"].post;
    const component = (schema: { $ref?: string }) =>
      schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop() as string] : schema;
    const [withPassword, withToken] = component(
      login.requestBody.content["application/json"].schema,
    ).anyOf.map(component);
    expect(withPassword.required).toEqual(expect.arrayContaining(["username", "password", "tenant_id"]));
    expect(Object.keys(withPassword.properties)).toContain("mfa_code");
    expect(withToken.required).toEqual(expect.arrayContaining(["username", "tenant_id", "mfa_token"]));
    // The second step takes a code or a passkey's answer, with the password or with the token.
    for (const shape of [withPassword, withToken]) {
      expect(Object.keys(shape.properties)).toEqual(expect.arrayContaining(["mfa_code", "mfa_passkey"]));
    }
  });

  it("names every operation once, and says who may call it", async () => {
    const doc = await document();
    const ids = operations(doc).map(([, , op]) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [method, path, op] of operations(doc)) expect(op.security, `${method} ${path}`).toBeDefined();
    expect(doc.paths["/api/v1/health"].get.security).toEqual([]);
    expect(doc.paths["/api/v1/auth/login"].post.security).toEqual([]);
    expect(doc.paths["/api/v1/openapi.json"].get.security).toEqual([]);
    expect(doc.paths["/api/v1/auth/me"].get.security).toEqual([{ bearerAuth: [] }]);
  });

  it("lists the statuses the middleware answers, with their headers", async () => {
    const doc = await document();
    const resolve = (node: Json): Json =>
      node?.$ref
        ? node.$ref
            .slice(2)
            .split("/")
            .reduce((at: Json, key: string) => at?.[key], doc)
        : node;
    for (const [method, path, op] of operations(doc)) {
      const where = `${method} ${path}`;
      const responses = Object.fromEntries(Object.entries(op.responses).map(([s, r]) => [s, resolve(r)]));
      expect(Object.keys(responses), where).toEqual(expect.arrayContaining(["405", "503"]));
      expect(resolve(responses["405"].headers.Allow).required, where).toBe(true);
      for (const response of Object.values(responses))
        expect(response.headers, where).toHaveProperty("Cache-Control");
      if (op.requestBody)
        expect(Object.keys(responses), where).toEqual(expect.arrayContaining(["400", "413", "415"]));
      if (responses["429"])
        expect(resolve(responses["429"].headers["Retry-After"]).required, where).toBe(true);
      if (method !== "get") expect(Object.keys(responses), where).toContain("403");
    }
    // A session narrowed to enrollment answers 403 mfa_enrollment_required on routes for sessions only.
    expect(resolve(doc.paths["/api/v1/auth/me"].get.responses["403"]).description).toContain(
      "mfa_enrollment_required",
    );
    expect(doc.paths["/api/v1/mfa/status"].get.responses["403"]).toBeDefined();
    expect(doc.paths["/api/v1/mfa/setup"].post.responses["401"]).toBeDefined();
  });

  it("states the username rule in words a Python-based validator can read, without \\p{…} patterns", async () => {
    const text = JSON.stringify(await document());
    expect(text).not.toMatch(/\\\\p\{/);
  });
});

describe("OpenAPI coverage", () => {
  it("documents every JSON route the app registers, so the document cannot drift from the code", async () => {
    const { app } = await import("../../src/app");
    const doc = await document();
    const served = app.routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/v1/"))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    const documented = operations(doc).map(([method, path]) => `${method} ${path}`);
    expect(served.length).toBeGreaterThan(4);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });
});
