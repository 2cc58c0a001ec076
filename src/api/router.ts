import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/**
 * A router whose validation failures become `400 invalid_request` with one detail per field, the same
 * shape as every other error.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const details = result.error.issues.map((issue) => ({
          path: issue.path.map(String).join(".") || "(body)",
          message: issue.message,
        }));
        throw new ApiError("invalid_request", { details });
      }
    },
  });
}
