// The WebAuthn ceremonies' checks (WebAuthn Level 3 §7.1 registration, §7.2 assertion), each once.
// @oslojs/webauthn and @oslojs/cbor parse the binary structures and COSE keys; the runtime's
// node:crypto checks signatures, as authenticators write them (ECDSA in DER), against keys kept as
// JWK (an ASN.1 library to turn DER into WebCrypto's r ‖ s would add a tenth of the Worker's
// size). What the library leaves to its caller is here: the challenge, the origin, the RP id
// hash, the UP and UV flags, the signature over authenticatorData ‖ SHA-256(clientDataJSON), the
// sign count and that the credential is the one asked about. Nothing here reads or writes storage.
import { createPublicKey, verify } from "node:crypto";
import { decodeCBORToNativeValueNoLeftoverBytes } from "@oslojs/cbor";
import {
  ClientDataType,
  COSEKeyType,
  type COSEPublicKey,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveP256,
  createAssertionSignatureMessage,
  parseAuthenticatorData,
  parseClientDataJSON,
} from "@oslojs/webauthn";
import * as z from "zod";
import { fromBase64Url, timingSafeEqual, toBase64Url } from "../encoding";

/** The algorithms we offer and accept (COSE ids): ES256 everywhere, RS256 for Windows Hello. */
export const SUPPORTED_ALGORITHMS = [coseAlgorithmES256, coseAlgorithmRS256] as const;

/** Why a credential was refused: each check has its own, so each has its own test. */
export type PasskeyCheck =
  | "malformed"
  | "type"
  | "challenge"
  | "origin"
  | "rp_id"
  | "user_present"
  | "user_verified"
  | "algorithm"
  | "credential"
  | "signature"
  | "sign_count";

export class PasskeyRejected extends Error {
  constructor(readonly check: PasskeyCheck) {
    super(`passkey refused: ${check}`);
  }
}

const Base64Url = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/** What both kinds of PublicKeyCredential.toJSON() have, beside their response. */
function credentialJson<R extends z.ZodRawShape>(response: R) {
  return z.object({
    id: Base64Url.max(1400),
    rawId: Base64Url.max(1400),
    type: z.literal("public-key"),
    response: z.looseObject({ clientDataJSON: Base64Url, ...response }),
    authenticatorAttachment: z.string().max(32).nullish(),
    clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
  });
}

/** `PublicKeyCredential.toJSON()` of a registration (navigator.credentials.create). */
export const RegistrationCredential = credentialJson({
  attestationObject: Base64Url,
  transports: z.array(z.string().max(32)).max(10).optional(),
}).meta({
  id: "RegistrationCredential",
  description: "PublicKeyCredential.toJSON() of navigator.credentials.create()",
});
export type RegistrationCredential = z.output<typeof RegistrationCredential>;

/** `PublicKeyCredential.toJSON()` of an assertion (navigator.credentials.get). */
export const AssertionCredential = credentialJson({
  authenticatorData: Base64Url,
  signature: Base64Url,
  userHandle: Base64Url.max(100).nullish(),
}).meta({
  id: "AssertionCredential",
  description: "PublicKeyCredential.toJSON() of navigator.credentials.get()",
});
export type AssertionCredential = z.output<typeof AssertionCredential>;

/** What a ceremony must have been made for: our origin, our RP id, the challenge we issued. */
export interface Expected {
  origin: string;
  rpId: string;
  challenge: string; // base64url
}

/** The RP id of an origin: its host name (WebAuthn's default, and the one the browser checks). */
export function relyingPartyId(origin: string): string {
  return new URL(origin).hostname;
}

/** The challenge the browser signed, so the caller can find the one it issued. */
export function challengeOf(clientDataJSON: string): string {
  return toBase64Url(attempt(() => parseClientDataJSON(fromBase64Url(clientDataJSON))).challenge);
}

export interface NewCredential {
  credentialId: string;
  publicKey: string; // JWK, as JSON
  algorithm: number;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
  transports: string[];
}

/** §7.1: checks a registration and returns the credential to store. */
export async function verifyRegistration(
  credential: RegistrationCredential,
  expected: Expected,
): Promise<NewCredential> {
  checkClientData(credential.response.clientDataJSON, ClientDataType.Create, expected);
  const attestation = attempt(() =>
    decodeCBORToNativeValueNoLeftoverBytes(fromBase64Url(credential.response.attestationObject), 4),
  ) as { authData?: unknown };
  // Attestation conveyance is "none": whatever statement comes, we trust no authenticator maker,
  // so only the authenticator data inside matters.
  if (!(attestation?.authData instanceof Uint8Array)) throw new PasskeyRejected("malformed");
  const authData = attestation.authData;
  const parsed = checkAuthenticatorData(authData, expected.rpId);
  const attested = parsed.credential;
  if (!attested) throw new PasskeyRejected("malformed");
  const credentialId = toBase64Url(attested.id);
  if (credentialId !== credential.rawId || credentialId !== credential.id)
    throw new PasskeyRejected("credential");
  const { jwk, algorithm } = attempt(() => toJwk(attested.publicKey), "algorithm");
  // A key that does not import (a point off the curve) is refused now, not at the first sign-in.
  attempt(() => createPublicKey({ key: jwk, format: "jwk" }), "algorithm");
  return {
    credentialId,
    publicKey: JSON.stringify(jwk),
    algorithm,
    signCount: parsed.signatureCounter,
    ...backupFlags(authData),
    transports: credential.response.transports ?? [],
  };
}

export interface StoredCredential {
  credentialId: string;
  publicKey: string;
  algorithm: number;
  signCount: number;
  /** The WebAuthn user handle the credential was made for (our user id). */
  userId: string;
}

export interface VerifiedAssertion {
  signCount: number;
  backedUp: boolean;
}

/** §7.2: checks an assertion made with `stored`; returns what to record of it. */
export async function verifyAssertion(
  credential: AssertionCredential,
  expected: Expected,
  stored: StoredCredential,
): Promise<VerifiedAssertion> {
  if (credential.rawId !== stored.credentialId || credential.id !== stored.credentialId) {
    throw new PasskeyRejected("credential");
  }
  const handle = credential.response.userHandle;
  if (handle && handle !== userHandle(stored.userId)) throw new PasskeyRejected("credential");
  const clientDataJSON = attempt(() => fromBase64Url(credential.response.clientDataJSON));
  checkClientData(credential.response.clientDataJSON, ClientDataType.Get, expected);
  const authData = attempt(() => fromBase64Url(credential.response.authenticatorData));
  const parsed = checkAuthenticatorData(authData, expected.rpId);

  const message = createAssertionSignatureMessage(authData, clientDataJSON);
  const signature = attempt(() => fromBase64Url(credential.response.signature));
  if (!verifySignature(stored, signature, message)) throw new PasskeyRejected("signature");
  // Sign count policy: an authenticator that keeps a counter must show a larger one each time; one
  // that does not (synced passkeys) sends 0 forever. Anything else is a counter that went back or
  // stood still: a possible clone, refused (§6.1.1).
  const signCount = parsed.signatureCounter;
  if (!(signCount > stored.signCount || (signCount === 0 && stored.signCount === 0))) {
    throw new PasskeyRejected("sign_count");
  }
  return { signCount, backedUp: backupFlags(authData).backedUp };
}

/** The WebAuthn user handle for a user: the bytes of our user id, base64url. */
export function userHandle(userId: string): string {
  return toBase64Url(new TextEncoder().encode(userId));
}

function checkClientData(encoded: string, type: ClientDataType, expected: Expected): void {
  const clientData = attempt(() => parseClientDataJSON(fromBase64Url(encoded)));
  if (clientData.type !== type) throw new PasskeyRejected("type");
  if (!timingSafeEqual(clientData.challenge, fromBase64Url(expected.challenge))) {
    throw new PasskeyRejected("challenge");
  }
  // The browser writes the origin the page came from: a phishing site's assertion names its own.
  if (clientData.origin !== expected.origin || clientData.crossOrigin === true) {
    throw new PasskeyRejected("origin");
  }
}

function checkAuthenticatorData(bytes: Uint8Array, rpId: string) {
  const parsed = attempt(() => parseAuthenticatorData(bytes));
  if (!parsed.verifyRelyingPartyIdHash(rpId)) throw new PasskeyRejected("rp_id");
  if (!parsed.userPresent) throw new PasskeyRejected("user_present");
  // A passkey counts as a second factor only with its PIN or biometric: UV is required, always.
  if (!parsed.userVerified) throw new PasskeyRejected("user_verified");
  // Backed up but not backup-eligible is a combination the spec forbids (§6.1 BS).
  const { backupEligible, backedUp } = backupFlags(bytes);
  if (backedUp && !backupEligible) throw new PasskeyRejected("malformed");
  return parsed;
}

/** The BE and BS flags (bits 3 and 4 of the flags byte, which the parser does not expose). */
function backupFlags(authData: Uint8Array) {
  const flags = authData[32] ?? 0;
  return { backupEligible: (flags & 0x08) !== 0, backedUp: (flags & 0x10) !== 0 };
}

type PublicJwk = { kty: "EC"; crv: "P-256"; x: string; y: string } | { kty: "RSA"; n: string; e: string };

function toJwk(key: COSEPublicKey): { jwk: PublicJwk; algorithm: number } {
  const algorithm = key.algorithm();
  if (algorithm === coseAlgorithmES256 && key.type() === COSEKeyType.EC2) {
    const ec2 = key.ec2();
    if (ec2.curve !== coseEllipticCurveP256) throw new PasskeyRejected("algorithm");
    return {
      jwk: { kty: "EC", crv: "P-256", x: bigintBase64Url(ec2.x, 32), y: bigintBase64Url(ec2.y, 32) },
      algorithm,
    };
  }
  if (algorithm === coseAlgorithmRS256 && key.type() === COSEKeyType.RSA) {
    const rsa = key.rsa();
    // Below 2048 bits an RSA key can be factored by whoever means to.
    if (rsa.n < 1n << 2047n) throw new PasskeyRejected("algorithm");
    return { jwk: { kty: "RSA", n: bigintBase64Url(rsa.n), e: bigintBase64Url(rsa.e) }, algorithm };
  }
  throw new PasskeyRejected("algorithm");
}

/** A non-negative integer as JWK writes it: big-endian bytes (`size` of them, or as few as it takes). */
function bigintBase64Url(value: bigint, size = 0): string {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  hex = hex.padStart(size * 2, "0");
  return toBase64Url(Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16)));
}

/** ES256 signatures come in DER, as authenticators write them; RS256 as they are. */
function verifySignature(stored: StoredCredential, signature: Uint8Array, message: Uint8Array): boolean {
  if (stored.algorithm !== coseAlgorithmES256 && stored.algorithm !== coseAlgorithmRS256) return false;
  const key = JSON.parse(stored.publicKey) as PublicJwk;
  return attempt(
    () => verify("sha256", message, { key, format: "jwk", dsaEncoding: "der" }, signature),
    "signature",
  );
}

/** Runs a parser; whatever it throws is a malformed credential (or `check`), never a 500. */
function attempt<T>(parse: () => T, check: PasskeyCheck = "malformed"): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PasskeyRejected) throw error;
    throw new PasskeyRejected(check);
  }
}
