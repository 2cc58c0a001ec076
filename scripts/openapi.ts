// `npm run openapi`: writes the OpenAPI document to docs/openapi.json (for integrators) and to
// public/openapi.json (the static asset the Worker serves), and the TypeScript types openapi-typescript generates from it to
// test/generated/openapi.d.ts (the typed client in test/api/typed-client.test.ts is built on
// them). `--check` changes nothing and fails when either file is not what the code generates now:
// CI runs it, so neither can drift from the routes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { openApiDocument } from "../src/api/document";

const ROOT = join(import.meta.dirname, "..");
const productName = readFileSync(join(ROOT, "wrangler.toml"), "utf8").match(
  /^PRODUCT_NAME\s*=\s*"([^"]+)"/m,
)?.[1];
if (!productName) throw new Error("wrangler.toml has no PRODUCT_NAME");

// The server is relative: wherever the document is served from (the Worker answers with its own
// PUBLIC_ORIGIN at GET /api/v1/openapi.json).
const document = openApiDocument({ productName, publicOrigin: "/" });
const files = {
  [join(ROOT, "docs", "openapi.json")]: `${JSON.stringify(document, null, 2)}\n`,
  // What the Worker serves at /api/v1/openapi.json, with its own origin as the server.
  [join(ROOT, "public", "openapi.json")]: JSON.stringify(document),
  [join(ROOT, "test", "generated", "openapi.d.ts")]:
    COMMENT_HEADER + astToString(await openapiTS(document as never, { defaultNonNullable: false })),
};

const check = process.argv.includes("--check");
let stale = 0;
for (const [path, content] of Object.entries(files)) {
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (current === content) continue;
  if (check) {
    console.error(`${path} is not what the routes generate: run npm run openapi`);
    stale++;
  } else {
    writeFileSync(path, content);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
