// Bad input of every kind gets a clear error with a stable code and the documented shape, never a 500.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { createTenant } from "../helpers/factory";
import { call, expectError, ORIGIN, sessionToken } from "../helpers/http";

const LOGIN = "/api/v1/auth/login";

describe("request bodies", () => {
  it("answers broken JSON with 400 invalid_json", async () => {
    for (const rawBody of ["{", '{"username":', "nul", "[1,", "\u0000"]) {
      const response = await call("POST", LOGIN, {
        rawBody,
        headers: { "content-type": "application/json" },
      });
      expectError(response, 400, "invalid_json");
    }
  });

  it("answers a body that is not JSON with 415", async () => {
    const response = await call("POST", LOGIN, {
      rawBody: "username=admin&password=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectError(response, 415, "unsupported_media_type");
  });

  it("answers a body over 16 KiB with 413, whatever it holds", async () => {
    const response = await call("POST", LOGIN, {
      body: { username: "a", password: "x".repeat(17 * 1024), tenant_id: "demo" },
    });
    expectError(response, 413, "payload_too_large");
  });

  it("names each invalid field in details", async () => {
    const response = await call("POST", LOGIN, { body: { username: 42, tenant_id: "Not A Slug!" } });
    expectError(response, 400, "invalid_request");
    const paths = response.json.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(["password", "tenant_id", "username"]);
  });

  it.each([
    ["an array", []],
    ["a string", "admin"],
    ["null", null],
    ["a number", 7],
    ["wrong types", { username: ["a"], password: { x: 1 }, tenant_id: true }],
    ["null fields", { username: null, password: null, tenant_id: null }],
    ["an extra field", { username: "a", password: "b", tenant_id: "demo", admin: true }],
    ["a 100 KB string", { username: "a".repeat(100_000), password: "b", tenant_id: "demo" }],
  ])("refuses %s with a 4xx in the error shape", async (_label, body) => {
    const response = await call("POST", LOGIN, { body });
    expect([400, 413]).toContain(response.status);
    expect(response.json.error.code).toMatch(/^(invalid_request|payload_too_large)$/);
  });
});

describe("routes", () => {
  it("answers an unknown route with a JSON 404", async () => {
    expectError(await call("GET", "/api/v1/nothing-here"), 404, "not_found");
    expectError(await call("POST", "/api/v2/auth/login"), 404, "not_found");
  });

  it("answers a known route with the wrong method with 405 and Allow", async () => {
    const response = await call("GET", LOGIN);
    expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toBe("POST");
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    expectError(await call("DELETE", "/api/v1/auth/me", { token }), 405, "method_not_allowed");
  });

  it("puts the security headers on every response, errors included", async () => {
    for (const response of [await call("GET", "/api/v1/health"), await call("GET", "/api/v1/nothing")]) {
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("refuses a cross-origin unsafe request before looking at its credentials", async () => {
    const { admin } = await createTenant();
    const response = await call("POST", LOGIN, {
      body: { username: admin.username, password: admin.password, tenant_id: admin.tenantId },
      headers: { origin: "https://evil.example" },
    });
    expectError(response, 403, "forbidden");
    const sameOrigin = await call("POST", LOGIN, {
      body: { username: admin.username, password: admin.password, tenant_id: admin.tenantId },
      headers: { origin: ORIGIN },
    });
    expect(sameOrigin.status).toBe(200);
  });
});

describe("configuration", () => {
  it.each([
    "SESSION_SIGNING_KEY",
    "PASSWORD_PEPPER",
    "BACKUP_CODE_PEPPER",
    "AUDIT_SIGNING_KEY",
    "TOTP_ENCRYPTION_KEYS",
  ])("answers every request with 503 misconfigured when %s is missing", async (name) => {
    const broken = { ...env, [name]: undefined };
    for (const path of ["/api/v1/health", LOGIN]) {
      const response = await app.fetch(new Request(`${ORIGIN}${path}`), broken);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("misconfigured");
      expect(body.error.message).not.toContain(name);
    }
  });

  it.each(["0", "29", "3651", "forever", ""])("refuses AUDIT_RETENTION_DAYS=%j", async (days) => {
    const response = await app.fetch(new Request(`${ORIGIN}/api/v1/health`), {
      ...env,
      AUDIT_RETENTION_DAYS: days,
    });
    expect(response.status).toBe(503);
  });

  // A deployed Worker has no ENVIRONMENT; development's values must not work there.
  const production = (vars: Record<string, string>) => ({
    ...env,
    ENVIRONMENT: undefined,
    PUBLIC_ORIGIN: "https://sign-in.acme.io",
    EMAIL_FROM: "no-reply@acme.io",
    ...vars,
  });
  const health = (vars: Env) => app.fetch(new Request(`${ORIGIN}/api/v1/health`), vars);

  it("serves a deployed Worker with an https origin and a real sender", async () => {
    expect((await health(production({}))).status).toBe(200);
  });

  it.each([
    "http://localhost:8787",
    "https://localhost",
    "https://127.0.0.1",
    "https://sign-in.example.com",
    "https://auth.example",
    "http://sign-in.acme.io",
    "https://sign-in.acme.io/login",
    "https://localhost..",
    "https://10.0.0.1",
    "https://[::ffff:7f00:1]",
    "https://auth.internal",
    "https://router.home.arpa",
    "",
  ])("refuses to serve a deployed Worker whose PUBLIC_ORIGIN is %j", async (origin) => {
    const response = await health(production({ PUBLIC_ORIGIN: origin }));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("misconfigured");
  });

  it.each([
    "no-reply@example.com",
    "no-reply@mail.test",
    "a@10.0.0.1",
    "not-an-email",
    "a@acme.io\r\nBcc: x@acme.io",
    "",
  ])("refuses to serve a deployed Worker whose EMAIL_FROM is %j", async (sender) => {
    expect((await health(production({ EMAIL_FROM: sender }))).status).toBe(503);
  });

  it("answers in development only requests to this machine", async () => {
    const local = {
      PUBLIC_ORIGIN: "http://localhost:8787",
      EMAIL_FROM: "no-reply@example.com",
      ENVIRONMENT: "development",
    };
    const deployed = await app.fetch(new Request("https://sign-in.acme.io/api/v1/health"), production(local));
    expect(deployed.status).toBe(503);
    expect(
      (await app.fetch(new Request("http://127.0.0.1:8787/api/v1/health"), production(local))).status,
    ).toBe(200);
  });

  it("accepts local values in development only", async () => {
    const local = { PUBLIC_ORIGIN: "http://localhost:8787", EMAIL_FROM: "no-reply@example.com" };
    expect((await health(production({ ...local, ENVIRONMENT: "development" }))).status).toBe(200);
    expect((await health(production(local))).status).toBe(503);
  });

  it("names the configured origin as the OpenAPI server, whatever Host the request carries", async () => {
    const response = await app.fetch(
      new Request("https://attacker.example/api/v1/openapi.json"),
      production({}),
    );
    const document = (await response.json()) as { servers: { url: string }[] };
    expect(document.servers).toEqual([{ url: "https://sign-in.acme.io" }]);
  });

  it("refuses a secret shorter than 256 bits", async () => {
    const weak = { ...env, PASSWORD_PEPPER: btoa("short-pepper") };
    const response = await app.fetch(new Request(`${ORIGIN}/api/v1/health`), weak);
    expect(response.status).toBe(503);
  });
});
