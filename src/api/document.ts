// The OpenAPI document, written from the routes' own descriptions. Only npm run openapi and the
// tests build it; the Worker serves what npm run openapi wrote (src/api/routers.ts).
import type { Config } from "../env";
import { buildOpenApiDocument } from "./router";
import { API_BASE, API_ROUTERS } from "./routers";

const documents = new Map<string, ReturnType<typeof buildOpenApiDocument>>();

/** The OpenAPI document for a product name and origin (built once for each). */
export function openApiDocument(config: Pick<Config, "productName" | "publicOrigin">) {
  const key = `${config.productName}\n${config.publicOrigin}`;
  let document = documents.get(key);
  if (!document) {
    document = buildOpenApiDocument({
      info: {
        title: `${config.productName} sign-in and MFA API`,
        version: "1",
        description:
          "Errors always have the shape {error: {code, message, details?}}; clients branch on code. Every answer carries Cache-Control: no-store.",
        license: { name: "Proprietary" },
      },
      servers: [{ url: config.publicOrigin }],
      basePath: API_BASE,
      routers: API_ROUTERS,
    });
    documents.set(key, document);
  }
  return document;
}
