// An integrator's view: a client generated from the OpenAPI document alone (openapi-typescript's
// types in test/generated/, `npm run openapi`; openapi-fetch to call them) drives a whole MFA
// sign-in. `npm run typecheck` checks these calls against the generated types, and CI checks that
// the types are what the routes generate now.
import { exports } from "cloudflare:workers";
import createClient from "openapi-fetch";
import { describe, expect, it } from "vitest";
import type { paths } from "../generated/openapi";
import { addUser, createTenant } from "../helpers/factory";
import { sessionToken } from "../helpers/http";
import { totpCode } from "../helpers/totp";

const api = createClient<paths>({
  baseUrl: "http://localhost",
  fetch: (request) => exports.default.fetch(request),
});

describe("a client generated from the document", () => {
  it("turns MFA on and signs in with the password step and the mfa_token step", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId);
    const auth = { headers: { authorization: `Bearer ${await sessionToken(user)}` } };

    const setup = await api.POST("/api/v1/mfa/setup", { ...auth, body: {} });
    expect(setup.response.status).toBe(200);
    const secret = setup.data?.secret ?? "";
    const verify = await api.POST("/api/v1/mfa/verify", { ...auth, body: { code: await totpCode(secret) } });
    expect(verify.data?.mfa_enabled).toBe(true);

    const first = await api.POST("/api/v1/auth/login", {
      body: { tenant_id: tenantId, username: user.username, password: user.password },
    });
    if (!first.data || !("mfa_required" in first.data)) throw new Error("expected mfa_required");
    const second = await api.POST("/api/v1/auth/login", {
      body: {
        tenant_id: tenantId,
        username: user.username,
        mfa_token: first.data.mfa_token,
        mfa_code: await totpCode(secret, 1),
      },
    });
    if (!second.data || !("token" in second.data)) throw new Error("expected a session");
    const me = await api.GET("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${second.data.token}` },
    });
    expect(me.data?.user).toMatchObject({ id: user.user.id, mfa_enabled: true });
  });

  it("reads an error in the documented shape, with its stable code", async () => {
    const { tenantId } = await createTenant();
    const wrong = await api.POST("/api/v1/auth/login", {
      body: { tenant_id: tenantId, username: "nobody", password: "not a password" },
    });
    expect(wrong.response.status).toBe(401);
    expect(wrong.error?.error.code).toBe("invalid_credentials");
  });
});
