// A software authenticator: real P-256 keys (WebCrypto), real authenticator data, CBOR attestation
// objects and DER signatures, built byte by byte as a CTAP2 authenticator and a browser would, so
// the server's checks run on genuine payloads. Each knob lets a test break one thing at a time.
import { decodeIEEEP1363ECDSASignature, p256 } from "@oslojs/crypto/ecdsa";
import { expect } from "vitest";
import { randomBytes, toBase64Url } from "../../src/encoding";
import type { TestUser } from "./factory";
import { call, ORIGIN } from "./http";

export interface CeremonyOptions {
  origin?: string;
  rpId?: string;
  userPresent?: boolean;
  userVerified?: boolean;
  /** The counter to report (default: one more than last time, or 0 for a "synced" authenticator). */
  signCount?: number;
  type?: string;
  challenge?: string;
  /** Send no user handle (a non-discoverable assertion). */
  omitUserHandle?: boolean;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private counter = 0;
  private userHandle: string | null = null;

  private constructor(
    private readonly keys: CryptoKeyPair,
    /** Synced passkeys keep no counter (0 forever) and set the BE and BS flags. */
    readonly synced: boolean,
  ) {}

  static async create(options: { synced?: boolean } = {}): Promise<SoftAuthenticator> {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    return new SoftAuthenticator(keys, options.synced ?? false);
  }

  get id(): string {
    return toBase64Url(this.credentialId);
  }

  /** navigator.credentials.create(options).toJSON() */
  async register(
    options: { challenge: string; rp: { id: string }; user: { id: string } },
    knobs: CeremonyOptions = {},
  ) {
    this.userHandle = options.user.id;
    const clientDataJSON = clientData("webauthn.create", knobs.challenge ?? options.challenge, knobs);
    const jwk = (await crypto.subtle.exportKey("jwk", this.keys.publicKey)) as JsonWebKey;
    const coseKey = cbor(
      new Map<number, unknown>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, fromB64u(jwk.x ?? "")],
        [-3, fromB64u(jwk.y ?? "")],
      ]),
    );
    const attested = concat(
      new Uint8Array(16), // AAGUID: none
      new Uint8Array([this.credentialId.length >> 8, this.credentialId.length & 0xff]),
      this.credentialId,
      coseKey,
    );
    const authData = await authenticatorData(
      knobs.rpId ?? options.rp.id,
      this.flags(knobs, true),
      this.nextCount(knobs),
      attested,
    );
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key" as const,
      response: {
        clientDataJSON: toBase64Url(clientDataJSON),
        attestationObject: toBase64Url(attestationObject),
        transports: ["internal"],
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(options).toJSON() */
  async assert(options: { challenge: string; rpId: string }, knobs: CeremonyOptions = {}) {
    const clientDataJSON = clientData("webauthn.get", knobs.challenge ?? options.challenge, knobs);
    const authData = await authenticatorData(
      knobs.rpId ?? options.rpId,
      this.flags(knobs, false),
      this.nextCount(knobs),
    );
    const message = concat(authData, new Uint8Array(await crypto.subtle.digest("SHA-256", clientDataJSON)));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, message),
    );
    const signature = decodeIEEEP1363ECDSASignature(p256, raw).encodePKIX();
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key" as const,
      response: {
        clientDataJSON: toBase64Url(clientDataJSON),
        authenticatorData: toBase64Url(authData),
        signature: toBase64Url(signature),
        ...(knobs.omitUserHandle || !this.userHandle ? {} : { userHandle: this.userHandle }),
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  private flags(knobs: CeremonyOptions, attested: boolean): number {
    let flags = 0;
    if (knobs.userPresent ?? true) flags |= 0x01;
    if (knobs.userVerified ?? true) flags |= 0x04;
    if (this.synced) flags |= 0x08 | 0x10;
    if (attested) flags |= 0x40;
    return flags;
  }

  private nextCount(knobs: CeremonyOptions): number {
    if (knobs.signCount !== undefined) return knobs.signCount;
    if (this.synced) return 0;
    this.counter += 1;
    return this.counter;
  }
}

function clientData(type: string, challenge: string, knobs: CeremonyOptions): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      type: knobs.type ?? type,
      challenge,
      origin: knobs.origin ?? ORIGIN,
      crossOrigin: false,
    }),
  );
}

async function authenticatorData(rpId: string, flags: number, signCount: number, attested?: Uint8Array) {
  const rpIdHash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rpId)));
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, signCount);
  return concat(rpIdHash, new Uint8Array([flags]), counter, attested ?? new Uint8Array());
}

// The few CBOR forms an authenticator writes (RFC 8949): integers, byte and text strings, maps.
function cbor(value: unknown): Uint8Array {
  if (typeof value === "number") {
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Map) {
    const parts = [...value.entries()].flatMap(([k, v]) => [cbor(k), cbor(v)]);
    return concat(head(5, value.size), ...parts);
  }
  throw new Error(`cannot encode ${String(value)}`);
}

function head(major: number, length: number): Uint8Array {
  if (length < 24) return new Uint8Array([(major << 5) | length]);
  if (length < 256) return new Uint8Array([(major << 5) | 24, length]);
  return new Uint8Array([(major << 5) | 25, length >> 8, length & 0xff]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function fromB64u(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Registers a new passkey for the session's user through the API; returns the answer and the authenticator. */
export async function registerPasskey(
  token: string,
  options: {
    name?: string;
    synced?: boolean;
    authenticator?: SoftAuthenticator;
    /** The current second factor, when MFA is on already: `{ code }` or `{ mfa_passkey }`. */
    proof?: Record<string, unknown>;
  } = {},
) {
  const authenticator =
    options.authenticator ?? (await SoftAuthenticator.create({ synced: options.synced ?? false }));
  const begun = await call("POST", "/api/v1/mfa/passkeys/options", { token });
  expect(begun.status).toBe(200);
  const credential = await authenticator.register(begun.json.options);
  const added = await call("POST", "/api/v1/mfa/passkeys", {
    token,
    body: { name: options.name ?? "Laptop", credential, ...options.proof },
  });
  return { added, authenticator };
}

/** A passkey answer for the second step of a sign-in whose first step answered `mfaToken`. */
export async function secondStepAssertion(
  user: TestUser,
  mfaToken: string,
  authenticator: SoftAuthenticator,
  knobs: CeremonyOptions = {},
) {
  const begun = await call("POST", "/api/v1/auth/passkey/options", {
    body: { tenant_id: user.tenantId, username: user.username, mfa_token: mfaToken },
  });
  expect(begun.status).toBe(200);
  return {
    challenge_id: begun.json.challenge_id,
    credential: await authenticator.assert(begun.json.options, knobs),
  };
}

/** A passkey-alone sign-in's options, and the authenticator's answer to them. */
export async function passkeyLoginBody(
  tenantId: string,
  authenticator: SoftAuthenticator,
  knobs: CeremonyOptions = {},
) {
  const begun = await call("POST", "/api/v1/auth/passkey/options", { body: { tenant_id: tenantId } });
  expect(begun.status).toBe(200);
  return {
    tenant_id: tenantId,
    challenge_id: begun.json.challenge_id,
    credential: await authenticator.assert(begun.json.options, knobs),
  };
}
