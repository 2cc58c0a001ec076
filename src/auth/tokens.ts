// Session, enrollment and mfa tokens: HS256 JWTs (RFC 7519) whose every claim that matters is
// enforced on the way in (RFC 8725). Written here on WebCrypto rather than with jose: we sign one
// shape of token with one algorithm, so the whole of it is a fixed header, a few claims and one HMAC,
// and jose cost 20.6 KiB of a Worker held to 150 KiB gzipped. The tests forge tokens with jose.
import { now } from "../clock";
import { fromBase64Url, toBase64Url } from "../encoding";

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

/** The signing key as a CryptoKey, imported once per isolate (npm run profile showed it per request). */
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
  const payload = {
    tid: claims.tenantId,
    sid: claims.sessionId,
    iss: ISSUER,
    aud: AUDIENCE,
    sub: claims.userId,
    iat: Math.floor(now() / 1000),
    exp: Math.floor(expiresAt / 1000),
  };
  const signed = `${HEADER[kind]}.${toBase64Url(encoder.encode(JSON.stringify(payload)))}`;
  const signature = await crypto.subtle.sign("HMAC", await signingKey(key), encoder.encode(signed));
  return `${signed}.${toBase64Url(new Uint8Array(signature))}`;
}

/** Returns the token's claims, or null for any token that is not a valid, unexpired token of `kind`. */
export async function verifyToken(
  kind: TokenKind,
  token: string,
  key: Uint8Array,
): Promise<TokenClaims | null> {
  // The header must be the one this service writes for `kind`, byte for byte: another algorithm,
  // "none" or another kind's token never gets near the key.
  const match = COMPACT_JWS.exec(token);
  if (!match || match[1] !== HEADER[kind]) return null;
  const signature = decodeBase64Url(match[3] ?? "");
  const signed = token.slice(0, token.lastIndexOf("."));
  // One spelling per token: trailing bits that base64 decoding would ignore are refused.
  if (signature?.length !== 32 || toBase64Url(signature) !== match[3]) return null;
  // subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify("HMAC", await signingKey(key), signature, encoder.encode(signed));
  if (!valid) return null;
  const payload = parsePayload(match[2] ?? "");
  if (!payload) return null;
  const { iss, aud, sub, sid, tid, exp, iat } = payload;
  if (iss !== ISSUER || (aud !== AUDIENCE && !(Array.isArray(aud) && aud.includes(AUDIENCE)))) return null;
  if (typeof sub !== "string" || typeof sid !== "string" || typeof tid !== "string") return null;
  if (typeof exp !== "number" || typeof iat !== "number" || exp * 1000 <= now()) return null;
  return { userId: sub, sessionId: sid, tenantId: tid };
}

const encoder = new TextEncoder();

const HEADER: Record<TokenKind, string> = {
  session: encodeHeader("session"),
  enrollment: encodeHeader("enrollment"),
  mfa: encodeHeader("mfa"),
};

function encodeHeader(kind: TokenKind): string {
  return toBase64Url(encoder.encode(JSON.stringify({ alg: ALGORITHM, typ: TYPE[kind] })));
}

// Compact JWS: three base64url parts without padding, so a token has exactly one spelling.
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

function decodeBase64Url(text: string): Uint8Array | null {
  try {
    return fromBase64Url(text);
  } catch {
    return null;
  }
}

function parsePayload(text: string): Record<string, unknown> | null {
  const bytes = decodeBase64Url(text);
  if (!bytes) return null;
  try {
    const payload: unknown = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
    );
    return typeof payload === "object" && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
