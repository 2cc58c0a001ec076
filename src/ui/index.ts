// The browser UI's server side: htmx fragments and the signed-in pages under /ui, thin layers over
// the same domain functions as the JSON API. The sign-in page, styles and scripts are static, in public/.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";
import { accountRoutes } from "./account";
import { auditRoutes } from "./audit";
import { complianceRoutes } from "./compliance";
import { handleUiError } from "./errors";
import { loginRoutes } from "./login";
import { passkeyRoutes } from "./passkeys";
import { passwordResetRoutes } from "./password-reset";
import { profileRoutes } from "./profile";
import { securityRoutes } from "./security";
import { userDetailRoutes } from "./user-detail";
import { userRoutes } from "./users";

const MAX_FORM_BYTES = 16 * 1024;

export const uiRoutes = new Hono<AppEnv>();
uiRoutes.onError(handleUiError);
uiRoutes.use(
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large");
    },
  }),
);
uiRoutes.get("/", (c) => c.redirect("/ui/profile", 303));
uiRoutes.route("/", loginRoutes);
uiRoutes.route("/", profileRoutes);
uiRoutes.route("/", passkeyRoutes);
uiRoutes.route("/", accountRoutes);
uiRoutes.route("/", passwordResetRoutes);
uiRoutes.route("/settings", securityRoutes);
uiRoutes.route("/settings", complianceRoutes);
uiRoutes.route("/settings", userRoutes);
uiRoutes.route("/settings", userDetailRoutes);
uiRoutes.route("/audit", auditRoutes);
