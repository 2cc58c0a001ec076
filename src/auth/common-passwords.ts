// The list of commonly used passwords a new password must not be on (NIST 800-63B §3.1.1.2): the
// 100,000 most common passwords of 8 characters or more in SecLists' "10 million passwords" list,
// each as the first 4 bytes of the SHA-256 of its folded form, sorted (public/data/, made by
// `npm run passwords`). The Worker reads it from its static assets once per isolate, so the list
// costs nothing in the bundle; a lookup is a binary search. Four bytes of 100,000 entries refuse a
// random password by mistake about once in 43,000.
import { sha256Bytes } from "../encoding";

/** Where the list is among the static assets (it is public data: serving it gives nothing away). */
export const COMMON_PASSWORDS_PATH = "/data/common-passwords-v1.bin";

/** The form passwords are compared in: "PassWord1" is as common as "password1". */
export function foldPassword(password: string): string {
  return password.normalize("NFKC").toLowerCase();
}

/** The 4-byte key of a password, as the list holds it. */
export async function passwordKey(password: string): Promise<number> {
  const digest = await sha256Bytes(foldPassword(password));
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

/** The list's keys from its file: big-endian 32-bit words in ascending order. */
export function parseCommonPasswords(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 4 !== 0) throw new Error("the common-password list is not whole 32-bit keys");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const keys = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < keys.length; i++) keys[i] = view.getUint32(i * 4);
  return keys;
}

export async function isCommonPassword(keys: Uint32Array, password: string): Promise<boolean> {
  const key = await passwordKey(password);
  let low = 0;
  let high = keys.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = keys[middle] as number;
    if (value === key) return true;
    if (value < key) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** Where the list comes from: the Worker's ASSETS binding (the operator CLI reads public/). */
export type Assets = Pick<Fetcher, "fetch">;

let loaded: Promise<Uint32Array> | undefined;

/** The list, fetched from the static assets on first use in this isolate and kept. */
export function commonPasswords(assets: Assets): Promise<Uint32Array> {
  loaded ??= assets
    .fetch(new Request(`https://assets.invalid${COMMON_PASSWORDS_PATH}`))
    .then(async (response) => {
      if (!response.ok) throw new Error(`the common-password list answered ${response.status}`);
      return parseCommonPasswords(new Uint8Array(await response.arrayBuffer()));
    })
    .catch((error: unknown) => {
      loaded = undefined; // a failed fetch is tried again by the next request
      throw error;
    });
  return loaded;
}
