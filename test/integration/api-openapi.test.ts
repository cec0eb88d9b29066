/** /api/openapi.json: a valid OpenAPI 3.1 document listing every route of SPEC §4, whose schemas match real answers. */
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { HOOKLINE_VERSION } from "../../src/version.js";

/** The route table of SPEC §4, as OpenAPI path templates. */
const SPEC_ROUTES = [
  "put /api/v1/projects/{project_id}",
  "get /api/v1/projects",
  "get /api/v1/projects/{project_id}",
  "delete /api/v1/projects/{project_id}",
  "get /api/v1/event-types",
  "put /api/v1/event-types/{name}",
  "post /api/v1/projects/{project_id}/events",
  "get /api/v1/projects/{project_id}/webhooks",
  "post /api/v1/projects/{project_id}/webhooks",
  "get /api/v1/projects/{project_id}/webhooks/{id}",
  "patch /api/v1/projects/{project_id}/webhooks/{id}",
  "delete /api/v1/projects/{project_id}/webhooks/{id}",
  "get /api/v1/projects/{project_id}/webhooks/{id}/secret",
  "post /api/v1/projects/{project_id}/webhooks/{id}/test",
  "get /api/v1/projects/{project_id}/webhooks/{id}/logs",
  "get /api/v1/projects/{project_id}/webhooks/{id}/logs/{log_id}",
  "post /api/v1/projects/{project_id}/webhooks/{id}/logs/{log_id}/redeliver",
  "get /api/v1/projects/{project_id}/notifications",
  "post /api/v1/projects/{project_id}/notifications/{id}/read",
  "post /api/v1/projects/{project_id}/portal-sessions",
];

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/**
 * Keywords an OpenAPI 3.1 Schema Object may hold: JSON Schema 2020-12 (core, applicator,
 * unevaluated, validation, meta-data, format and content vocabularies) and the OpenAPI base
 * vocabulary, plus `x-` extensions. 3.0's `nullable` is not among them.
 */
const SCHEMA_KEYWORDS_31 = new Set([
  ...["$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment", "$defs"],
  ...["prefixItems", "items", "contains", "additionalProperties", "properties", "patternProperties", "dependentSchemas", "propertyNames"],
  ...["if", "then", "else", "allOf", "anyOf", "oneOf", "not", "unevaluatedItems", "unevaluatedProperties"],
  ...["type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern"],
  ...["maxItems", "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required", "dependentRequired"],
  ...["title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples", "format"],
  ...["contentEncoding", "contentMediaType", "contentSchema"],
  ...["discriminator", "xml", "externalDocs", "example"],
]);
/** Keywords whose value is a schema, a list of schemas, or a map of them. */
const SUBSCHEMA = [
  "items",
  "contains",
  "additionalProperties",
  "propertyNames",
  "if",
  "then",
  "else",
  "not",
  "unevaluatedItems",
  "unevaluatedProperties",
  "contentSchema",
];
const SUBSCHEMA_LISTS = ["prefixItems", "allOf", "anyOf", "oneOf"];
const SUBSCHEMA_MAPS = ["properties", "patternProperties", "dependentSchemas", "$defs"];
const DIALECTS_31 = ["https://spec.openapis.org/oas/3.1/dialect/base", "https://json-schema.org/draft/2020-12/schema"];
/** Where the tests' Ajv finds components.schemas (a document's `#/components/schemas/…` refs are rewritten to it). */
const COMPONENTS_ID = "https://hookline.test/components";

type Json = Record<string, any>;

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((formats as unknown as { default?: unknown }).default ?? formats) as unknown as (a: Ajv2020) => Ajv2020;

/** `schema` with the document's `#/components/schemas/X` refs pointing at COMPONENTS_ID's `$defs/X`. */
function localRefs<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema), (k, v) =>
    k === "$ref" && typeof v === "string" ? v.replace(/^#\/components\/schemas\//, `${COMPONENTS_ID}#/$defs/`) : v,
  );
}

describe.each(WITH_POOLER)("OpenAPI document (%s)", (dialect) => {
  let hl: TestHookline;
  let doc: Json;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    const res = await hl.api("GET", "/api/openapi.json", undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = res.body;
  });
  afterAll(async () => {
    await hl?.close();
  });

  const operations = (of: Json = doc.paths) =>
    Object.entries<Json>(of).flatMap(([path, item]) =>
      Object.entries<Json>(item)
        .filter(([m]) => METHODS.includes(m))
        .map(([method, op]) => ({ path, method, op })),
    );

  /** Every schema object in the document, with where it is. */
  const schemas = () => {
    const out: Array<{ where: string; schema: Json }> = [];
    for (const { path, method, op } of [...operations(), ...operations(doc.webhooks ?? {})]) {
      for (const p of op.parameters ?? []) out.push({ where: `${method} ${path} param ${p.name}`, schema: p.schema });
      for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {}))
        out.push({ where: `${method} ${path} body ${type}`, schema: media.schema });
      for (const [status, r] of Object.entries<Json>(op.responses ?? {})) {
        for (const [type, media] of Object.entries<Json>(r.content ?? {})) out.push({ where: `${method} ${path} ${status} ${type}`, schema: media.schema });
      }
    }
    for (const [name, s] of Object.entries<Json>(doc.components?.schemas ?? {})) out.push({ where: `components.schemas.${name}`, schema: s });
    return out;
  };

  it("is an OpenAPI 3 document with info, servers and bearer security", () => {
    expect(doc.openapi).toMatch(/^3\.(0|1)\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.info.version).toBe(HOOKLINE_VERSION);
    expect(Array.isArray(doc.servers)).toBe(true);
    for (const s of doc.servers) expect(() => new URL(s.url)).not.toThrow();
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const key of Object.keys(doc))
      expect(["openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs", "webhooks", "jsonSchemaDialect"]).toContain(key);
  });

  it("lists every route of SPEC §4", () => {
    const listed = new Set(operations().map(({ method, path }) => `${method} ${path}`));
    for (const route of SPEC_ROUTES) expect(listed.has(route), route).toBe(true);
  });

  it("every operation is well formed: path parameters declared and required, responses with descriptions", () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect(path.startsWith("/"), where).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p: Json) => p.in === "path");
      expect(declared.map((p: Json) => p.name).sort(), where).toEqual(templated);
      for (const p of op.parameters ?? []) {
        expect(["path", "query", "header", "cookie"], where).toContain(p.in);
        expect(typeof p.name, where).toBe("string");
        if (p.in === "path") expect(p.required, `${where} ${p.name}`).toBe(true);
        expect(p.schema ?? p.content, `${where} ${p.name}`).toBeDefined();
      }
      const names = (op.parameters ?? []).map((p: Json) => `${p.in}:${p.name}`);
      expect(new Set(names).size, where).toBe(names.length);
      expect(Object.keys(op.responses ?? {}).length, where).toBeGreaterThan(0);
      for (const [status, r] of Object.entries<Json>(op.responses)) {
        expect(status, where).toMatch(/^([1-5](\d\d|XX)|default)$/);
        expect(typeof r.description, `${where} ${status}`).toBe("string");
      }
      expect(
        Object.keys(op.responses).some((s) => s.startsWith("2")),
        `${where} has a success answer`,
      ).toBe(true);
      if (op.requestBody) expect(Object.keys(op.requestBody.content ?? {}).length, where).toBeGreaterThan(0);
      if (op.operationId) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
      }
    }
  });

  it("documents the success status each route answers", () => {
    const statuses = (key: string) => {
      const [method, path] = key.split(" ");
      return Object.keys(doc.paths[path][method].responses);
    };
    expect(statuses("put /api/v1/projects/{project_id}")).toEqual(expect.arrayContaining(["200", "201"]));
    expect(statuses("delete /api/v1/projects/{project_id}")).toContain("204");
    expect(statuses("post /api/v1/projects/{project_id}/events")).toEqual(expect.arrayContaining(["202", "413", "422"]));
    expect(statuses("post /api/v1/projects/{project_id}/webhooks")).toEqual(expect.arrayContaining(["201", "409", "422"]));
    expect(statuses("patch /api/v1/projects/{project_id}/webhooks/{id}")).toEqual(expect.arrayContaining(["200", "409"]));
    expect(statuses("post /api/v1/projects/{project_id}/webhooks/{id}/test")).toContain("202");
    expect(statuses("post /api/v1/projects/{project_id}/webhooks/{id}/logs/{log_id}/redeliver")).toContain("202");
    for (const route of SPEC_ROUTES) expect(statuses(route), route).toEqual(expect.arrayContaining(["401"]));
  });

  /** Every schema object inside `schema` (itself included), with where it is. */
  const subschemas = (schema: unknown, where: string): Array<{ where: string; schema: Json }> => {
    if (!schema || typeof schema !== "object") return [];
    const s = schema as Json;
    const out = [{ where, schema: s }];
    for (const k of SUBSCHEMA) if (k in s) out.push(...subschemas(s[k], `${where}.${k}`));
    for (const k of SUBSCHEMA_LISTS) for (const [i, sub] of (s[k] ?? []).entries()) out.push(...subschemas(sub, `${where}.${k}[${i}]`));
    for (const k of SUBSCHEMA_MAPS) for (const [name, sub] of Object.entries(s[k] ?? {})) out.push(...subschemas(sub, `${where}.${k}.${name}`));
    return out;
  };

  /** Ajv for the document's dialect (JSON Schema 2020-12), strict: an unknown keyword or a wrong type fails to compile. */
  const ajv2020 = () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats(ajv);
    ajv.addVocabulary(["discriminator", "xml", "externalDocs", "example"]);
    const extensions = new Set(
      schemas().flatMap(({ where, schema }) => subschemas(schema, where).flatMap((s) => Object.keys(s.schema).filter((k) => k.startsWith("x-")))),
    );
    if (extensions.size) ajv.addVocabulary([...extensions]);
    ajv.addSchema({ $id: COMPONENTS_ID, $defs: localRefs(doc.components?.schemas ?? {}) });
    return ajv;
  };

  it("is OpenAPI 3.1 whose schemas are JSON Schema 2020-12: only its keywords, valid by its meta-schema, refs that resolve", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    if (doc.jsonSchemaDialect !== undefined) expect(DIALECTS_31).toContain(doc.jsonSchemaDialect);
    const meta = new Ajv2020({ strict: false });
    const all = schemas();
    expect(all.length).toBeGreaterThan(100);
    for (const { where, schema: root } of all) {
      expect(root, where).toBeTypeOf("object");
      expect(meta.validateSchema(root), `${where}: ${JSON.stringify(meta.errors)}`).toBe(true);
      for (const { where: at, schema } of subschemas(root, where)) {
        for (const k of Object.keys(schema)) if (!k.startsWith("x-")) expect(SCHEMA_KEYWORDS_31.has(k), `${at}: keyword ${k}`).toBe(true);
        if (schema.$ref !== undefined) {
          expect(schema.$ref, at).toMatch(/^#\/components\/schemas\/[^/]+$/);
          expect(doc.components.schemas[schema.$ref.split("/").pop()], `${at}: ${schema.$ref}`).toBeDefined();
        }
      }
    }
  });

  it("the error body is one shared component that every error answer refers to", () => {
    const ref = { $ref: "#/components/schemas/Error" };
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
    let errors = 0;
    for (const { path, method, op } of operations())
      for (const [status, r] of Object.entries<Json>(op.responses))
        if (/^[45]/.test(status) && r.content) {
          expect(r.content["application/json"].schema, `${method} ${path} ${status}`).toEqual(ref);
          errors++;
        }
    expect(errors).toBeGreaterThan(100);
  });

  it("every schema compiles under strict JSON Schema 2020-12, and real answers match the documented response schemas", async () => {
    const ajv = ajv2020();
    for (const { where, schema } of schemas()) expect(() => ajv.compile(localRefs(schema)), where).not.toThrow();

    const check = async (method: string, template: string, path: string, body?: unknown) => {
      const res = await hl.api(method.toUpperCase(), path, body);
      const documented = doc.paths[template][method].responses[String(res.status)];
      expect(documented, `${method} ${path} answered ${res.status}, which is not documented`).toBeDefined();
      const schema = documented.content?.["application/json"]?.schema;
      if (schema) {
        const validate = ajv.compile(localRefs(schema));
        expect(validate(res.body), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
      return res;
    };
    await check("put", "/api/v1/projects/{project_id}", "/api/v1/projects/oas", { name: "OAS", notification_emails: ["a@b.example"] });
    await check("put", "/api/v1/projects/{project_id}", "/api/v1/projects/oas", { name: "OAS" });
    await check("get", "/api/v1/projects", "/api/v1/projects");
    await check("get", "/api/v1/projects/{project_id}", "/api/v1/projects/oas");
    await check("get", "/api/v1/event-types", "/api/v1/event-types");
    await check("put", "/api/v1/event-types/{name}", "/api/v1/event-types/oas.thing", { description: "A thing." });
    const hook = await check("post", "/api/v1/projects/{project_id}/webhooks", "/api/v1/projects/oas/webhooks", {
      name: "h",
      events: ["issue.created"],
      url: "https://hooks.example.com/x",
      secret: "s",
    });
    const w = `/api/v1/projects/oas/webhooks/${hook.body.id}`;
    await check("get", "/api/v1/projects/{project_id}/webhooks", "/api/v1/projects/oas/webhooks");
    await check("get", "/api/v1/projects/{project_id}/webhooks/{id}", w);
    await check("patch", "/api/v1/projects/{project_id}/webhooks/{id}", w, { enabled: false });
    await check("get", "/api/v1/projects/{project_id}/webhooks/{id}/secret", `${w}/secret`);
    await check("post", "/api/v1/projects/{project_id}/webhooks/{id}/test", `${w}/test`);
    await check("get", "/api/v1/projects/{project_id}/webhooks/{id}/logs", `${w}/logs`);
    await check("get", "/api/v1/projects/{project_id}/webhooks/{id}/logs/{log_id}", `${w}/logs/log_01aaaaaaaaaaaaaaaaaaaaaaaa`);
    await check("post", "/api/v1/projects/{project_id}/events", "/api/v1/projects/oas/events", { event: "issue.created", subject: { id: 1 } });
    await check("post", "/api/v1/projects/{project_id}/events", "/api/v1/projects/oas/events", { event: "issue.created", subject: {}, source: "import" });
    await check("post", "/api/v1/projects/{project_id}/events", "/api/v1/projects/oas/events", { event: "nope.nope", subject: {} });
    await check("get", "/api/v1/projects/{project_id}/notifications", "/api/v1/projects/oas/notifications");
    await check("post", "/api/v1/projects/{project_id}/portal-sessions", "/api/v1/projects/oas/portal-sessions", { role: "viewer" });
    await check("post", "/api/v1/projects/{project_id}/webhooks", "/api/v1/projects/oas/webhooks", { name: "" });
    await check("delete", "/api/v1/projects/{project_id}/webhooks/{id}", w);
    await check("delete", "/api/v1/projects/{project_id}", "/api/v1/projects/oas");
  });
});
