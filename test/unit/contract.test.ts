// The contract checker itself (test/helpers/contract.ts) must be able to fail: each kind of
// departure from the document is caught.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/document";
import { loadConfig } from "../../src/env";
import { Contract } from "../helpers/contract";

const contract = new Contract(openApiDocument(loadConfig(env)));
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers({ "content-type": "application/json", ...headers }),
  text: JSON.stringify(body),
});
const ME = "http://localhost/api/v1/auth/me";
const user = {
  id: "u",
  username: "a",
  email: "a@b.example",
  role: "member",
  tenant_id: "t",
  mfa_enabled: false,
  active: true,
};

describe("the contract checker", () => {
  it("passes an answer the document describes", () => {
    expect(contract.check("GET", ME, json(200, { user }))).toEqual([]);
    expect(contract.check("GET", ME, json(401, { error: { code: "unauthorized", message: "x" } }))).toEqual(
      [],
    );
  });

  it("catches a body that lacks a field, has one too many, or has the wrong type", () => {
    const { email: _, ...noEmail } = user;
    expect(contract.check("GET", ME, json(200, { user: noEmail }))).not.toEqual([]);
    expect(contract.check("GET", ME, json(200, { user: { ...user, mfa_enabled: "no" } }))).not.toEqual([]);
    expect(
      contract.check("GET", ME, json(401, { error: { code: "no_such_code", message: "x" } })),
    ).not.toEqual([]);
  });

  it("catches a status the operation does not list, and a 500 anywhere", () => {
    expect(
      contract.check("GET", ME, json(409, { error: { code: "username_taken", message: "x" } })),
    ).not.toEqual([]);
    expect(
      contract.check("GET", ME, json(500, { error: { code: "internal_error", message: "x" } })),
    ).not.toEqual([]);
  });

  it("catches a 429 without Retry-After and a 405 without Allow", () => {
    const login = "http://localhost/api/v1/auth/login";
    const tooMany = { error: { code: "too_many_attempts", message: "x" } };
    expect(contract.check("POST", login, json(429, tooMany))).not.toEqual([]);
    expect(contract.check("POST", login, json(429, tooMany, { "retry-after": "900" }))).toEqual([]);
    const wrongMethod = { error: { code: "method_not_allowed", message: "x" } };
    expect(contract.check("DELETE", login, json(405, wrongMethod))).not.toEqual([]);
    expect(contract.check("DELETE", login, json(405, wrongMethod, { allow: "POST" }))).toEqual([]);
  });

  it("catches an unknown path answered with anything but 404 or the app-wide refusals", () => {
    const nowhere = "http://localhost/api/v1/nowhere";
    expect(contract.check("GET", nowhere, json(404, { error: { code: "not_found", message: "x" } }))).toEqual(
      [],
    );
    expect(contract.check("GET", nowhere, json(200, { ok: true }))).not.toEqual([]);
  });
});
