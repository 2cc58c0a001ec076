// Every answer the suite receives from /api is checked against the OpenAPI document, whichever
// helper made the request (call, app.fetch, exports.default.fetch, the robustness wrappers): the
// Worker's fetch is wrapped here, before any test file loads the Worker. A test that received an
// answer the document does not describe fails, with each departure named.
import { env } from "cloudflare:workers";
import { afterEach, expect } from "vitest";
import { openApiDocument } from "../../src/api/document";
import { app } from "../../src/app";
import { loadConfig } from "../../src/env";
import worker from "../../src/index";
import { Contract } from "../helpers/contract";

const contract = new Contract(openApiDocument(loadConfig(env)));
const departures: string[] = [];

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/** `serve`, with each /api answer checked on its way out. */
function checked(serve: Fetch): Fetch {
  return async (request, ...rest) => {
    const response = await serve(request, ...rest);
    if (new URL(request.url).pathname.startsWith("/api/")) {
      const { status, headers } = response;
      const text = await response.clone().text();
      departures.push(...contract.check(request.method, request.url, { status, headers, text }));
    }
    return response;
  };
}

// Tests call the app directly (app.fetch) and through the runtime (exports.default.fetch, which
// reads the Worker's default export): both are wrapped.
app.fetch = checked(app.fetch as Fetch) as typeof app.fetch;
worker.fetch = checked(worker.fetch as Fetch) as typeof worker.fetch;

afterEach(() => {
  const found = departures.splice(0);
  expect(found, "answers the OpenAPI document does not describe").toEqual([]);
});
