import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every route the app serves, with the schemas the routes validate with", async () => {
    const response = await call("GET", "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    const doc = response.json;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/health",
        "/api/v1/tenants/{tenantID}/users",
      ]),
    );
    const login = doc.paths["/api/v1/auth/login"].post;
    const component = (schema: { $ref?: string }) =>
      schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop() as string] : schema;
    // Two ways to sign in: the documented one with the password, and the second step with a token.
    const [withPassword, withToken] = component(
      login.requestBody.content["application/json"].schema,
    ).anyOf.map(component);
    expect(withPassword.required).toEqual(expect.arrayContaining(["username", "password", "tenant_id"]));
    expect(Object.keys(withPassword.properties)).toContain("mfa_code");
    expect(withToken.required).toEqual(
      expect.arrayContaining(["username", "tenant_id", "mfa_token", "mfa_code"]),
    );
    expect(login.responses["429"]).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: "http", scheme: "bearer" });
  });
});

describe("OpenAPI coverage", () => {
  it("documents every JSON route the app registers, so the document cannot drift from the code", async () => {
    const { app } = await import("../../src/app");
    const doc = (await call("GET", "/api/v1/openapi.json")).json;
    const served = app.routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/v1/") && r.path !== "/api/v1/openapi.json")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(served.length).toBeGreaterThan(4);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });
});
