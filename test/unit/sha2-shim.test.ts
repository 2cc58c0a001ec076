// The Worker's stand-in for @oslojs/crypto/sha2 (wrangler.toml [alias]) hashes as SHA-256 does:
// the passkey checks (RP id hash, the signed message) depend on it.
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/vendor/sha2";

describe("the sha256 the Worker bundles for @oslojs/webauthn", () => {
  it.each([0, 1, 55, 56, 64, 1000])("matches WebCrypto's SHA-256 for %i bytes", async (length) => {
    const data = crypto.getRandomValues(new Uint8Array(length));
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    expect(sha256(data)).toEqual(expected);
  });
});
