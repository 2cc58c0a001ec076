// TOTP secrets at rest: AES-256-GCM under a key held as a Worker secret, never in the database.
// The stored form names its key id, so a new key can be put first (it seals from then on) while
// older keys stay listed to open what they sealed.
import { fromBase64Url, randomBytes, toBase64Url } from "../encoding";
import type { Config } from "../env";

type KeyRing = Config["totpKeys"];

const KEY_BYTES = 32; // AES-256
// NIST SP 800-38D §5.2.1.1 recommends 96-bit IVs; random ones are safe for 2^32 seals per key (§8.3).
const IV_BYTES = 12;

export class SecretBoxError extends Error {}

/** Encrypts `plain`, bound to `context` (the user id), as `<kid>.<iv>.<ciphertext>` (base64url). */
export async function sealSecret(plain: Uint8Array, keys: KeyRing, context: string): Promise<string> {
  const key = await findKey(keys, keys.current);
  const iv = randomBytes(IV_BYTES);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encodeContext(context) },
    key,
    plain,
  );
  return [keys.current, toBase64Url(iv), toBase64Url(new Uint8Array(sealed))].join(".");
}

/**
 * Decrypts a value from sealSecret with the key its id names. Throws SecretBoxError when the value
 * is malformed, the key id is unknown, or authentication fails (tampered, or sealed for another
 * context: a ciphertext copied to another user's row does not open).
 */
export async function openSecret(stored: string, keys: KeyRing, context: string): Promise<Uint8Array> {
  const { kid, iv, ciphertext } = parseSealed(stored);
  const key = await findKey(keys, kid);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: encodeContext(context) },
      key,
      ciphertext,
    );
    return new Uint8Array(plain);
  } catch {
    throw new SecretBoxError(`sealed secret failed authentication under key "${kid}"`);
  }
}

function parseSealed(stored: string): { kid: string; iv: Uint8Array; ciphertext: Uint8Array } {
  const [kid, iv, ciphertext, ...rest] = stored.split(".");
  if (!kid || !iv || !ciphertext || rest.length > 0) {
    throw new SecretBoxError("sealed secret is malformed");
  }
  try {
    return { kid, iv: fromBase64Url(iv), ciphertext: fromBase64Url(ciphertext) };
  } catch {
    throw new SecretBoxError("sealed secret is not base64url");
  }
}

function encodeContext(context: string): Uint8Array {
  // An empty context would bind nothing, so a sealed secret could be moved between rows.
  if (context === "") throw new SecretBoxError("sealed secret needs a context");
  return new TextEncoder().encode(context);
}

const importedKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function findKey(keys: KeyRing, kid: string): Promise<CryptoKey> {
  const bytes = keys.keys.get(kid);
  if (!bytes) throw new SecretBoxError(`unknown TOTP encryption key id "${kid}"`);
  if (bytes.length !== KEY_BYTES) throw new SecretBoxError(`TOTP encryption key "${kid}" is not 256 bits`);
  let key = importedKeys.get(bytes);
  if (!key) {
    key = crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
    importedKeys.set(bytes, key);
  }
  return key;
}
