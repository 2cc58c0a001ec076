// Stands in for @oslojs/crypto/sha2 in the Worker's bundle (wrangler.toml [alias]): @oslojs/webauthn
// needs only sha256, and the runtime's native one (node:crypto) replaces six JavaScript SHA-2
// implementations, about 5 KiB of a Worker held to 150 KiB gzipped. The tests run the original.
import { createHash } from "node:crypto";

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}
