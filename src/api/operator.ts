// The operator's break-glass actions, carried out by the Worker on a one-time grant that the
// operator CLI wrote into D1 (src/admin/operator-grants.ts). No session and no admin takes part.
import * as z from "zod";
import { claimOperatorGrant } from "../admin/operator-grants";
import { resetUserMfa } from "../admin/reset";
import { findUserByName } from "../auth/users";
import { requestContext } from "../context";
import { ApiError } from "../errors";
import { createRoute, createRouter } from "./router";
import { SignInUsername, TenantId, User } from "./schemas";
import { toPublicUser } from "./shapes";

export const operatorRoutes = createRouter();

operatorRoutes.openapi(
  createRoute({
    method: "post",
    path: "/reset-mfa",
    operationId: "operatorResetMfa",
    auth: "operator",
    summary: "Break-glass MFA reset by the operator (npm run admin -- reset-mfa)",
    description:
      "The bearer token is a one-time grant the operator CLI wrote into D1 for this tenant and user (two minutes). The reset is the admin's: MFA removed, sessions and attempt counters cleared, the user emailed, the audit trail written.",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({ tenant_id: TenantId, username: SignInUsername })
              .strict()
              .meta({ id: "OperatorResetRequest" }),
          },
        },
      },
    },
    responses: {
      200: {
        description: "The user, without MFA",
        content: { "application/json": { schema: z.object({ user: User }) } },
      },
    },
    errors: [404],
  }),
  async (c) => {
    const { tenant_id: tenantId, username } = c.req.valid("json");
    const token = c.req.header("authorization")?.match(/^Bearer\s+(\S{1,256})$/i)?.[1];
    if (!token || !(await claimOperatorGrant(c.var.db, token, "reset-mfa", tenantId, username))) {
      throw new ApiError("unauthorized");
    }
    const found = await findUserByName(c.var.db, tenantId, username);
    if (!found) throw new ApiError("not_found");
    const ctx = { ...requestContext(c), tenant: found.tenant, actor: { kind: "operator" as const } };
    const user = await resetUserMfa(ctx, found.user);
    return c.json({ user: toPublicUser(user) }, 200);
  },
);
