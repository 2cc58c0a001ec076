// HMAC-SHA-256 under a long-lived secret (a pepper): the key is imported once per isolate.

const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

export async function hmacSha256(secret: Uint8Array, data: Uint8Array | string): Promise<Uint8Array> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key, bytes));
}
