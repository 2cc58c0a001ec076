// Starts the local server once for every browser test, and stops it after. With
// E2E_UPDATE_DOCS=1 it also copies the README's screenshots into docs/screenshots/.
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type E2eTenant, startE2eServer } from "../../scripts/e2e-server";
import { DOC_SCREENSHOTS, SCREENSHOT_DIR } from "./screenshots";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    tenants: E2eTenant[];
    logFile: string;
    stateDir: string;
    envFile: string;
  }
}

export default async function setup(project: TestProject) {
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const server = await startE2eServer();
  console.log(`e2e server at ${server.baseUrl} (log: ${server.logFile}); screenshots in ${SCREENSHOT_DIR}`);
  project.provide("baseUrl", server.baseUrl);
  project.provide("tenants", server.tenants);
  project.provide("logFile", server.logFile);
  project.provide("stateDir", server.stateDir);
  project.provide("envFile", server.envFile);
  return async () => {
    await server.stop();
    if (process.env.E2E_UPDATE_DOCS === "1") copyDocScreenshots();
  };
}

function copyDocScreenshots(): void {
  const target = join(import.meta.dirname, "..", "..", "docs", "screenshots");
  mkdirSync(target, { recursive: true });
  for (const name of DOC_SCREENSHOTS) {
    const source = join(SCREENSHOT_DIR, `${name}.png`);
    if (existsSync(source)) copyFileSync(source, join(target, `${name}.png`));
    else console.warn(`no screenshot ${name}.png to copy into docs/screenshots`);
  }
}
