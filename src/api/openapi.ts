// Routes described once: the description validates each request at runtime and writes the OpenAPI
// 3.1 document (zod's own toJSONSchema). It stands in for @hono/zod-openapi, whose zod extension
// hands zod's whole namespace to a function and so kept every zod locale in the bundle.
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { H } from "hono/types";
import * as z from "zod";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

type Method = "get" | "post" | "put" | "patch" | "delete";
type JsonContent = { "application/json": { schema: z.ZodType } };

export interface RouteSpec {
  method: Method;
  /** OpenAPI style, relative to the router's mount point: `/{tenantID}/users`. */
  path: string;
  summary: string;
  description?: string;
  security?: Record<string, string[]>[];
  /** Runs before validation (authentication and access checks). */
  middleware?: MiddlewareHandler<AppEnv> | readonly MiddlewareHandler<AppEnv>[];
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: { required: boolean; content: JsonContent };
  };
  responses: Record<number, { description: string; content?: JsonContent }>;
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
      ...(route.middleware === undefined ? [] : [route.middleware].flat()),
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
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  /** Where the API is mounted (`/api/v1`) and where each router sits below it. */
  basePath: string;
  routers: readonly (readonly [prefix: string, router: ApiRouter])[];
  securitySchemes: Record<string, object>;
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

  const paths: Record<string, Record<string, object>> = {};
  for (const [prefix, router] of options.routers) {
    for (const route of router.specs) {
      const path = `${options.basePath}${prefix === "/" ? "" : prefix}${route.path}`;
      const { params, query, body } = route.request ?? {};
      const parameters = [
        ...parametersOf(params, "path", describe),
        ...parametersOf(query, "query", describe),
      ];
      paths[path] ??= {};
      (paths[path] as Record<string, object>)[route.method] = {
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.security ? { security: route.security } : {}),
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
        responses: Object.fromEntries(
          Object.entries(route.responses).map(([status, response]) => [
            status,
            {
              description: response.description,
              ...(response.content
                ? {
                    content: {
                      "application/json": {
                        schema: describe(response.content["application/json"].schema, "output"),
                      },
                    },
                  }
                : {}),
            },
          ]),
        ),
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: options.info,
    servers: options.servers,
    paths,
    components: { schemas: components, securitySchemes: options.securitySchemes },
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
