// Session and enrollment tokens: HS256 JWTs whose every claim that matters is enforced on the way in
// (RFC 8725). jose checks none of iss, aud, typ or exp unless asked, so each is asked for here.
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose";
import { now } from "../clock";

/**
 * A session opens the API; an enrollment token only MFA setup and verify; an mfa token only the
 * second sign-in step, in place of the password that was right in the first.
 */
export type TokenKind = "session" | "enrollment" | "mfa";

export const TOKEN_LIFETIME_MS: Record<TokenKind, number> = {
  session: 12 * 60 * 60 * 1000,
  enrollment: 15 * 60 * 1000,
  mfa: 5 * 60 * 1000,
};

const ALGORITHM = "HS256";
const ISSUER = "edge-mfa";
const AUDIENCE = "edge-mfa-api";
// Distinct header types: a token of one kind can never stand in for the other.
const TYPE: Record<TokenKind, string> = {
  session: "session+jwt",
  enrollment: "enrollment+jwt",
  mfa: "mfa+jwt",
};

export interface TokenClaims {
  sessionId: string;
  userId: string;
  tenantId: string;
}

const importedKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * The signing key as a CryptoKey, imported once per isolate: jose would import raw bytes again on
 * every sign and verify (npm run profile showed it on each sign-in).
 */
function signingKey(key: Uint8Array): Promise<CryptoKey> {
  let imported = importedKeys.get(key);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    importedKeys.set(key, imported);
  }
  return imported;
}

export async function signToken(
  kind: TokenKind,
  claims: TokenClaims,
  expiresAt: number,
  key: Uint8Array,
): Promise<string> {
  return new SignJWT({ tid: claims.tenantId, sid: claims.sessionId })
    .setProtectedHeader({ alg: ALGORITHM, typ: TYPE[kind] })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(claims.userId)
    .setIssuedAt(Math.floor(now() / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(await signingKey(key));
}

/** Returns the token's claims, or null for any token that is not a valid, unexpired token of `kind`. */
export async function verifyToken(
  kind: TokenKind,
  token: string,
  key: Uint8Array,
): Promise<TokenClaims | null> {
  // The header is checked before any verification starts: the wrong algorithm or kind never gets
  // near a key. (It also keeps jose's early synchronous throws out of the runtime's rejection log.)
  if (!hasExpectedHeader(kind, token)) return null;
  try {
    const { payload } = await jwtVerify(token, await signingKey(key), {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: TYPE[kind],
      requiredClaims: ["exp", "iat", "sub", "sid", "tid"],
      currentDate: new Date(now()),
    });
    const { sub, sid, tid } = payload;
    if (typeof sub !== "string" || typeof sid !== "string" || typeof tid !== "string") return null;
    return { userId: sub, sessionId: sid, tenantId: tid };
  } catch (error) {
    if (error instanceof errors.JOSEError) return null;
    throw error;
  }
}

// Compact JWS: three base64url parts without padding, so a token has exactly one spelling.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function hasExpectedHeader(kind: TokenKind, token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false;
  try {
    const header = decodeProtectedHeader(token);
    return header.alg === ALGORITHM && header.typ === TYPE[kind];
  } catch {
    return false;
  }
}
