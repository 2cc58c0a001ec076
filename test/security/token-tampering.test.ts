// Attack 10 and 11 of security.md: forged, altered and expired tokens are refused with 401.
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { prepareSession } from "../../src/auth/sessions";
import { advanceClock } from "../../src/clock";
import { sessions } from "../../src/db/schema";
import { config, createTenant, db, TEST_CLIENT } from "../helpers/factory";
import { call, expectError, sessionToken } from "../helpers/http";

async function validClaims() {
  const { admin } = await createTenant();
  const token = await sessionToken(admin);
  return { token, claims: decodeJwt(token), header: decodeProtectedHeader(token) };
}

async function expectRefused(token: string) {
  expectError(await call("GET", "/api/v1/auth/me", { token }), 401, "unauthorized");
}

function resign(
  claims: Record<string, unknown>,
  header: Record<string, unknown>,
  key = config.sessionSigningKey,
) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header }).sign(key);
}

describe("session token tampering", () => {
  it("accepts the untouched token (the baseline the other cases alter)", async () => {
    const { token, claims, header } = await validClaims();
    expect((await call("GET", "/api/v1/auth/me", { token })).status).toBe(200);
    // Re-signing the same claims with the real key is accepted too, so the refusals below are
    // caused by the one thing each case changes.
    expect((await call("GET", "/api/v1/auth/me", { token: await resign(claims, header) })).status).toBe(200);
  });

  it("refuses alg none", async () => {
    const { claims } = await validClaims();
    await expectRefused(new UnsecuredJWT(claims).encode());
  });

  it("refuses a token signed with another key", async () => {
    const { claims, header } = await validClaims();
    await expectRefused(await resign(claims, header, crypto.getRandomValues(new Uint8Array(32))));
  });

  it("refuses another algorithm even with the right key", async () => {
    const { claims, header } = await validClaims();
    const token = await new SignJWT(claims)
      .setProtectedHeader({ ...header, alg: "HS512" })
      .sign(config.sessionSigningKey);
    await expectRefused(token);
  });

  it.each([
    ["aud", { aud: "someone-else" }],
    ["iss", { iss: "https://evil.example" }],
    ["sub", { sub: "another-user" }],
    ["sid", { sid: "another-session" }],
    ["tid", { tid: "another-tenant" }],
  ])("refuses a wrong %s", async (_claim, change) => {
    const { claims, header } = await validClaims();
    await expectRefused(await resign({ ...claims, ...change }, header));
  });

  it("refuses a wrong or missing typ", async () => {
    const { claims, header } = await validClaims();
    await expectRefused(await resign(claims, { ...header, typ: "enrollment+jwt" }));
    await expectRefused(await resign(claims, { ...header, typ: "JWT" }));
    const { typ: _typ, ...untyped } = header;
    await expectRefused(
      await new SignJWT(claims)
        .setProtectedHeader({ ...untyped, alg: "HS256" })
        .sign(config.sessionSigningKey),
    );
  });

  it.each(["exp", "iat", "sub", "sid", "tid"])("refuses a token without %s", async (claim) => {
    const { claims, header } = await validClaims();
    const { [claim]: _removed, ...rest } = claims;
    await expectRefused(await resign(rest, header));
  });

  it("refuses a token past its expiry, by the server clock", async () => {
    const { token } = await validClaims();
    advanceClock(12 * 60 * 60 * 1000 + 1000);
    await expectRefused(token);
  });

  it("refuses a token whose exp was pushed out: the session row's expiry still holds", async () => {
    const { claims, header } = await validClaims();
    const extended = await resign({ ...claims, exp: (claims.exp ?? 0) + 7 * 24 * 3600 }, header);
    advanceClock(13 * 60 * 60 * 1000);
    await expectRefused(extended);
  });

  it("refuses an enrollment token on a route that needs a session", async () => {
    const { admin } = await createTenant();
    const enrollment = await prepareSession("enrollment", admin.user, TEST_CLIENT, config.sessionSigningKey);
    await db.insert(sessions).values(enrollment.row);
    await expectRefused(enrollment.token);
  });

  it("refuses garbage of every shape", async () => {
    for (const token of [
      "a",
      "a.b",
      "a.b.c",
      "e30.e30.",
      "eyJhbGciOiJub25lIn0.e30.",
      "\u00e9.\u00e9.\u00e9",
    ]) {
      await expectRefused(token);
    }
  });
});

describe("token spelling", () => {
  it("refuses a token with padding or characters outside base64url, which jose would otherwise decode", async () => {
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    await expectRefused(`${token}=`);
    await expectRefused(`${token}!`);
    await expectRefused(token.replace(/\./, "+."));
  });

  it("refuses a second spelling of the same signature (trailing bits base64 decoding ignores)", async () => {
    const { admin } = await createTenant();
    const token = await sessionToken(admin);
    // 32 bytes take 43 base64url characters; the last carries 2 unused bits. Setting them decodes
    // to the same bytes, so only the spelling check refuses it.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.at(-1) ?? "");
    const respelled = `${token.slice(0, -1)}${alphabet[last | 0b11]}`;
    expect(respelled).not.toBe(token);
    await expectRefused(respelled);
  });
});
