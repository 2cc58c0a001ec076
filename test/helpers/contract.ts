// The response contract: every answer of the API checked against the OpenAPI document (status,
// declared headers, body schema). It runs inside workerd, so the validator interprets schemas
// (@cfworker/json-schema) and never generates code.
import { dereference, type OutputUnit, type Schema, validate } from "@cfworker/json-schema";

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Json = any;

export interface CheckedResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * What the middleware of every /api request answers before a route is found: an unsafe request's
 * body or origin refused, and an outage or a configuration refused (src/app.ts).
 */
const APP_WIDE = [400, 403, 413, 415, 503];

interface Path {
  template: string;
  pattern: RegExp;
  literals: number;
  item: Json;
}

export class Contract {
  readonly #doc: Json;
  readonly #lookup: Record<string, Schema | boolean>;
  readonly #paths: Path[];

  constructor(document: Json) {
    // A copy: dereference() adds bookkeeping to every object it registers.
    this.#doc = structuredClone(document);
    // Every object of the document is registered under its JSON pointer, so the
    // "#/components/schemas/X" references inside a schema taken from it resolve.
    this.#lookup = dereference(this.#doc as Schema);
    this.#paths = Object.entries<Json>(this.#doc.paths)
      .map(([template, item]) => ({
        template,
        item,
        pattern: new RegExp(
          `^${template
            .split(/(\{[^}]+\})/)
            .map((part) => (/^\{[^}]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
            .join("")}$`,
        ),
        literals: template.replace(/\{[^}]+\}/g, "").length,
      }))
      // OpenAPI: a concrete path wins over a templated one that also matches.
      .sort((a, b) => b.literals - a.literals);
  }

  /** Every way the answer to `method url` departs from the document; none means it conforms. */
  check(method: string, url: string, response: CheckedResponse): string[] {
    const pathname = new URL(url).pathname;
    const where = `${method} ${pathname} → ${response.status}`;
    const path = this.#paths.find((p) => p.pattern.test(pathname));
    const operation = path?.item[method.toLowerCase()];
    if (!path || !operation) {
      // No operation answers: 404 for a path the document lacks, 405 (with the methods it serves)
      // for one it has, or what the app-wide middleware says before any routing.
      if (APP_WIDE.includes(response.status) || response.status === (path ? 405 : 404)) {
        return this.#asError(where, response);
      }
      if (!path) return [`${where}: no documented path, yet not 404`];
      return [`${where}: ${path.template} documents no ${method}, yet not 405`];
    }
    const spec = this.#resolve(operation.responses[String(response.status)]);
    if (!spec) return [`${where}: status not documented for ${method} ${path.template}`];

    const problems: string[] = [];
    for (const [name, reference] of Object.entries<Json>(spec.headers ?? {})) {
      const header = this.#resolve(reference);
      const value = response.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: no ${name} header`);
        continue;
      }
      const instance = header.schema?.type === "integer" ? Number(value) : value;
      problems.push(...this.#mismatches(instance, header.schema, `${where}: header ${name}`));
    }
    const sent = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    const download = Object.keys(spec.content ?? {}).filter((type) => type !== "application/json");
    if (download.length > 0) {
      // A streamed export: one of the documented file types (its rows are the export tests' to check).
      return download.includes(sent)
        ? problems
        : [...problems, `${where}: ${sent} is not one of ${download}`];
    }
    const media = spec.content?.["application/json"];
    if (!media) {
      if (response.text !== "") problems.push(`${where}: documented without a body, yet one was sent`);
      return problems;
    }
    if (!/^application\/json\b/.test(response.headers.get("content-type") ?? "")) {
      return [...problems, `${where}: not application/json`];
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      return [...problems, `${where}: the body is not JSON`];
    }
    return [...problems, ...this.#mismatches(body, media.schema, `${where}: body`)];
  }

  /** A response or header object, or what its "#/components/…" reference names. */
  #resolve(node: Json): Json {
    if (!node?.$ref) return node;
    return node.$ref
      .slice(2)
      .split("/")
      .reduce((at: Json, key: string) => at?.[key], this.#doc);
  }

  /** An answer no operation describes is still an error in the documented shape. */
  #asError(where: string, response: CheckedResponse): string[] {
    if (response.status === 405 && !response.headers.get("allow")) return [`${where}: no Allow header`];
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      return [`${where}: the body is not JSON`];
    }
    return this.#mismatches(body, this.#doc.components.schemas.Error, `${where}: body`);
  }

  #mismatches(instance: unknown, schema: Schema | undefined, label: string): string[] {
    if (!schema) return [];
    const result = validate(instance, schema, "2020-12", this.#lookup, false);
    return result.valid ? [] : [`${label} does not match the document:\n${describe(result.errors)}`];
  }
}

function describe(errors: OutputUnit[]): string {
  // The leaves: "a subschema had errors" only repeats its children.
  const leaves = errors.filter((e) => !/subschema|did not match any|items did not match/i.test(e.error));
  return (leaves.length > 0 ? leaves : errors).map((e) => `  ${e.instanceLocation} ${e.error}`).join("\n");
}
