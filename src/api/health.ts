import * as z from "zod";
import { pingDatabase } from "../db/client";
import { createRoute, createRouter } from "./router";

export const healthRoutes = createRouter();

healthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    auth: "none",
    summary: "The service and its database answer",
    responses: {
      200: {
        description: "Healthy",
        content: { "application/json": { schema: z.object({ ok: z.literal(true) }) } },
      },
    },
  }),
  async (c) => {
    await pingDatabase(c.var.db);
    return c.json({ ok: true as const }, 200);
  },
);
