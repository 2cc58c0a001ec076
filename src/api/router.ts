// The API's router and validator, and the writer of its OpenAPI 3.1 document: each route is
// described once, and that description authenticates the request, validates it, and documents it,
// with every status the middleware can answer, so the document cannot drift from the server.
// (It stands in for @hono/zod-openapi, whose zod extension kept every zod locale in the bundle.)
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { H } from "hono/types";
import * as z from "zod";
import type { AppEnv } from "../context";
import { ApiError, ERRORS, type ErrorCode } from "../errors";
import { requireAuth, tenantAdminOnly } from "../middleware/session";

type Method = "get" | "post" | "put" | "patch" | "delete";
type JsonContent = { "application/json": { schema: z.ZodType } };

/**
 * Who may call a route: anyone; a session; a session or an enrollment token (MFA setup and
 * verify, sign-out); an admin of the tenant in the path; the operator's one-time grant (checked
 * by the handler itself).
 */
export type RouteAuth = "none" | "session" | "session-or-enrollment" | "tenant-admin" | "operator";

export interface RouteSpec {
  method: Method;
  /** OpenAPI style, relative to the router's mount point: `/{tenantID}/users`. */
  path: string;
  /** The name a generated client gives the call. */
  operationId: string;
  summary: string;
  description?: string;
  auth: RouteAuth;
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: { required: boolean; content: JsonContent };
  };
  /**
   * The answers of a call that went as asked: JSON (`content`), or a file download in one of the
   * `download` media types (a streamed export), sent as an attachment.
   */
  responses: Record<number, { description: string; content?: JsonContent; download?: string[] }>;
  /**
   * The error statuses this route's own logic answers (404, 409, 429…). Those the middleware
   * answers (authentication, bodies, origin, methods, outages) are added from the spec itself.
   */
  errors?: number[];
}

/** Keeps a route's literal type, so its handler sees what validation produced. */
export function createRoute<R extends RouteSpec>(route: R): R {
  return route;
}

type Output<S> = S extends z.ZodType ? z.output<S> : never;
type RouteRequest<R extends RouteSpec> = NonNullable<R["request"]>;

/** What `c.req.valid(target)` gives a handler of route R. */
export interface ValidatedInput<R extends RouteSpec> {
  in: object;
  out: {
    param: Output<RouteRequest<R>["params"]>;
    query: Output<RouteRequest<R>["query"]>;
    json: Output<NonNullable<RouteRequest<R>["body"]>["content"]["application/json"]["schema"]>;
  };
}

const AUTH_MIDDLEWARE: Record<RouteAuth, readonly MiddlewareHandler<AppEnv>[]> = {
  none: [],
  session: [requireAuth(["session"])],
  "session-or-enrollment": [requireAuth(["session", "enrollment"])],
  "tenant-admin": tenantAdminOnly,
  operator: [],
};

export class ApiRouter extends Hono<AppEnv> {
  /** Every route this router serves, for the document. */
  readonly specs: RouteSpec[] = [];

  openapi<R extends RouteSpec>(
    route: R,
    handler: (c: Context<AppEnv, string, ValidatedInput<R>>) => Response | Promise<Response>,
  ): this {
    this.specs.push(route);
    const path = route.path.replace(/\{(\w+)\}/g, ":$1");
    const handlers: H<AppEnv>[] = [
      ...AUTH_MIDDLEWARE[route.auth],
      validate(route),
      (c) => handler(c as unknown as Context<AppEnv, string, ValidatedInput<R>>),
    ];
    this.on([route.method.toUpperCase()], [path], ...handlers);
    return this;
  }
}

export function createRouter(): ApiRouter {
  return new ApiRouter();
}

/**
 * Validates path parameters, query and JSON body against the route's schemas. A failure is
 * `400 invalid_request` with one detail per field, the shape of every other error. The body was
 * already checked to be JSON (jsonBodies); an absent body counts as `{}` where it is optional.
 */
function validate(route: RouteSpec): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { params, query, body } = route.request ?? {};
    if (params) c.req.addValidatedData("param", parse(params, c.req.param()));
    if (query) c.req.addValidatedData("query", parse(query, c.req.query()));
    if (body) {
      const text = await c.req.text();
      const json: unknown = text.length > 0 ? JSON.parse(text) : body.required ? undefined : {};
      c.req.addValidatedData("json", parse(body.content["application/json"].schema, json) as object);
    }
    await next();
  };
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = fieldIssues(result.error.issues).map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  throw new ApiError("invalid_request", { details });
}

/**
 * The issues to report, field by field. A body that matches no shape of a union (the two ways to
 * sign in) is told what the closest shape lacks, not just that it matched none.
 */
function fieldIssues(issues: readonly z.core.$ZodIssue[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
    return fieldIssues(closest).map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
  });
}

// ---- the document ----------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is plain JSON
type JsonSchema = Record<string, any>;

export interface DocumentOptions {
  info: { title: string; version: string; description?: string; license: { name: string } };
  servers: { url: string; description?: string }[];
  /** Where the API is mounted (`/api/v1`) and where each router sits below it. */
  basePath: string;
  routers: readonly (readonly [prefix: string, router: ApiRouter])[];
}

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().meta({ description: "For people; clients branch on code" }),
      details: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .meta({ description: "With invalid_request: one entry per field" }),
    }),
  })
  .meta({ id: "Error" });

const SECURITY: Record<RouteAuth, Record<string, string[]>[]> = {
  none: [],
  session: [{ bearerAuth: [] }],
  "session-or-enrollment": [{ bearerAuth: [] }],
  "tenant-admin": [{ bearerAuth: [] }],
  operator: [{ operatorGrant: [] }],
};

const SECURITY_SCHEMES = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    description: "A session token from POST /auth/login (or an enrollment token, where a route says so)",
  },
  operatorGrant: {
    type: "http",
    scheme: "bearer",
    description: "A one-time grant written into D1 by the operator CLI",
  },
};

/**
 * The error statuses every route of this kind can answer, whatever its handler does: the ones the
 * middleware answers before it (and a storage or configuration outage, on every route).
 */
function middlewareStatuses(route: RouteSpec): number[] {
  const statuses = [405, 503];
  // Every unsafe request's body is read as JSON (jsonBodies) and its origin checked (sameOriginOnly).
  if (route.method !== "get") statuses.push(400, 403, 413, 415);
  if (route.request?.params || route.request?.query) statuses.push(400);
  if (route.auth !== "none") statuses.push(401);
  if (route.auth === "session" || route.auth === "tenant-admin") statuses.push(403); // enrollment due
  return statuses;
}

/** The headers the document names: every answer carries Cache-Control; 405 and 429 theirs. */
const HEADER_COMPONENTS = {
  CacheControl: {
    description: "no-store: answers carry tokens, codes and secrets",
    schema: { type: "string" },
  },
  Allow: { description: "The methods this path serves", required: true, schema: { type: "string" } },
  RetryAfter: {
    description: "Seconds to wait before trying again",
    required: true,
    schema: { type: "integer", minimum: 0 },
  },
  ContentDisposition: {
    description: "attachment, with the file name to save the export as",
    required: true,
    schema: { type: "string", pattern: "^attachment; filename=" },
  },
};
const header = (name: keyof typeof HEADER_COMPONENTS) => ({ $ref: `#/components/headers/${name}` });
const HEADERS = { "Cache-Control": header("CacheControl") };
const STATUS_HEADERS: Partial<Record<number, Record<string, object>>> = {
  405: { Allow: header("Allow") },
  429: { "Retry-After": header("RetryAfter") },
};

/** The codes an error status can carry, from the table in src/errors.ts. */
function describeStatus(status: number): string {
  const codes = Object.entries(ERRORS)
    .filter(([, [code]]) => code === status)
    .map(([name]) => name);
  const what: Record<number, string> = { 405: "Another method on this path (see Allow)" };
  return [what[status], `error.code: ${codes.join(", ")}`].filter(Boolean).join(". ");
}

/**
 * The OpenAPI 3.1 document of the routers' routes. Schemas with an `id` in their metadata become
 * components, referenced wherever they are used; request schemas are described as they are
 * accepted, response schemas as they are sent.
 */
export function buildOpenApiDocument(options: DocumentOptions) {
  const components: Record<string, JsonSchema> = {};
  const describe = (schema: z.ZodType, io: "input" | "output") =>
    toComponentRefs(
      z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }),
      components,
    );
  const errorSchema = describe(ErrorResponse, "output");
  // One component per error status, referenced by every operation that can answer it.
  const errorResponses: Record<string, object> = {};
  const errorResponse = (status: number) => {
    errorResponses[`Error${status}`] ??= {
      description: describeStatus(status),
      headers: { ...HEADERS, ...STATUS_HEADERS[status] },
      content: { "application/json": { schema: errorSchema } },
    };
    return { $ref: `#/components/responses/Error${status}` };
  };

  const paths: Record<string, Record<string, object>> = {};
  for (const [prefix, router] of options.routers) {
    for (const route of router.specs) {
      const path = `${options.basePath}${prefix === "/" ? "" : prefix}${route.path}`;
      const { params, query, body } = route.request ?? {};
      const parameters = [
        ...parametersOf(params, "path", describe),
        ...parametersOf(query, "query", describe),
      ];
      const errors = [...new Set([...(route.errors ?? []), ...middlewareStatuses(route)])].sort();
      const responses = {
        ...Object.fromEntries(
          Object.entries(route.responses).map(([status, response]) => [
            status,
            {
              description: response.description,
              headers: HEADERS,
              ...(response.content
                ? {
                    content: {
                      "application/json": {
                        schema: describe(response.content["application/json"].schema, "output"),
                      },
                    },
                  }
                : {}),
              ...(response.download
                ? {
                    headers: { ...HEADERS, "Content-Disposition": header("ContentDisposition") },
                    content: Object.fromEntries(
                      response.download.map((media) => [media, { schema: { type: "string" } }]),
                    ),
                  }
                : {}),
            },
          ]),
        ),
        ...Object.fromEntries(errors.map((status) => [String(status), errorResponse(status)])),
      };
      paths[path] ??= {};
      (paths[path] as Record<string, object>)[route.method] = {
        operationId: route.operationId,
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        security: SECURITY[route.auth],
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(body
          ? {
              requestBody: {
                required: body.required,
                content: {
                  "application/json": { schema: describe(body.content["application/json"].schema, "input") },
                },
              },
            }
          : {}),
        responses,
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: options.info,
    servers: options.servers,
    paths,
    components: {
      schemas: components,
      responses: Object.fromEntries(Object.entries(errorResponses).sort()),
      headers: HEADER_COMPONENTS,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function parametersOf(
  schema: z.ZodObject | undefined,
  location: "path" | "query",
  describe: (schema: z.ZodType, io: "input" | "output") => JsonSchema,
) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: location,
    required: location === "path" || !(field as z.ZodType).safeParse(undefined).success,
    schema: describe(field as z.ZodType, "input"),
  }));
}

/** Moves a generated schema's `$defs` into the components and points its references there. */
function toComponentRefs(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _, $defs, ...rest } = schema;
  const repoint = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(repoint);
    if (node === null || typeof node !== "object") return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [
        key,
        key === "$ref" && typeof value === "string"
          ? value.replace("#/$defs/", "#/components/schemas/")
          : repoint(value),
      ]),
    );
  };
  for (const [id, definition] of Object.entries<JsonSchema>($defs ?? {})) {
    // First description wins: a schema used both ways differs only in what output adds.
    components[id] ??= repoint(definition) as JsonSchema;
  }
  return repoint(rest) as JsonSchema;
}
