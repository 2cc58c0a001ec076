// Every router of the API and where it is mounted: the app mounts them, and src/api/document.ts
// describes them (at build time: the Worker serves the document as written by npm run openapi).
import * as z from "zod";
import { accountRoutes } from "./account";
import { authRoutes } from "./auth";
import { exportRoutes } from "./exports";
import { healthRoutes } from "./health";
import { mfaRoutes } from "./mfa";
import { operatorRoutes } from "./operator";
import { passkeyRoutes } from "./passkeys";
import { createRoute, createRouter } from "./router";
import { tenantRoutes } from "./tenants";
import { userRoutes } from "./users";

export const API_BASE = "/api/v1";

/** Where npm run openapi writes the document among the static assets (public/). */
export const DOCUMENT_ASSET = "/openapi.json";

// The document describes itself too. It is a static asset, written from the routes by npm run
// openapi (and checked in CI), so the Worker carries neither the document nor the code that writes
// it (zod's JSON Schema conversion is a twentieth of the bundle); it sets only the server.
const documentRoutes = createRouter();
let served: { origin: string; document: Record<string, unknown> } | undefined;
documentRoutes.openapi(
  createRoute({
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApiDocument",
    auth: "none",
    summary: "This OpenAPI 3.1 document",
    responses: {
      200: {
        description: "The document, with the configured origin as its server",
        content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
      },
    },
  }),
  async (c) => {
    const origin = c.var.config.publicOrigin;
    if (served?.origin !== origin) {
      const asset = await c.env.ASSETS.fetch(new Request(new URL(DOCUMENT_ASSET, origin)));
      const document = (await asset.json()) as Record<string, unknown>;
      // The configured origin, never the request's Host header (which the caller chooses).
      served = { origin, document: { ...document, servers: [{ url: origin }] } };
    }
    return c.json(served.document, 200);
  },
);

export const API_ROUTERS = [
  ["/", healthRoutes],
  ["/", documentRoutes],
  ["/auth", authRoutes],
  ["/auth", accountRoutes],
  ["/mfa", mfaRoutes],
  ["/mfa", passkeyRoutes],
  ["/tenants", exportRoutes], // before userRoutes: /users/export is not a user id
  ["/tenants", userRoutes],
  ["/tenants", tenantRoutes],
  ["/operator", operatorRoutes],
] as const;
