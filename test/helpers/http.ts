// Requests through the Worker's real fetch handler, with the bindings of the test runtime.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { app } from "../../src/app";
import type { TestUser } from "./factory";
import { recordingQueue } from "./recording";

export const ORIGIN = "http://localhost";

export interface CallOptions {
  body?: unknown;
  /** A raw body sent as is (broken JSON, other types). */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: CallOptions = {}) {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely
  return { status: response.status, headers: response.headers, json: json as any, text };
}

/** Credentials are enough: an unknown user signs in (and fails) the same way. */
export async function login(
  user: Pick<TestUser, "username" | "password" | "tenantId">,
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>,
) {
  return call("POST", "/api/v1/auth/login", {
    body: { username: user.username, password: user.password, tenant_id: user.tenantId, ...extra },
    ...(headers ? { headers } : {}),
  });
}

/** Signs in a user without MFA and returns the session token. */
export async function sessionToken(user: TestUser): Promise<string> {
  const response = await login(user);
  expect(response.status).toBe(200);
  expect(response.json.token).toBeTypeOf("string");
  return response.json.token;
}

/** Asserts the documented error shape and code. */
export function expectError(response: { status: number; json: unknown }, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.json).toMatchObject({ error: { code, message: expect.any(String) } });
}

/**
 * A request through the app with the email queue recorded, waiting for the work it does after its
 * response (a forgot-password request looks the account up only then).
 */
export async function callRecordingEmail(method: string, path: string, options: CallOptions = {}) {
  const { sent, binding } = recordingQueue();
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const context = createExecutionContext();
  const response = await app.fetch(
    new Request(`${ORIGIN}${path}`, { method, headers, body }),
    { ...env, EMAIL_QUEUE: binding },
    context,
  );
  const text = await response.text();
  await waitOnExecutionContext(context);
  return { status: response.status, text, sent };
}
