/**
 * Event type schemas: a JSON Schema (draft 2020-12) describing a published subject. A schema is
 * checked when it is defined (an invalid schema is refused then, not at the first publish) and
 * compiled once per distinct schema text; publishes reuse the compiled validator.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { FieldError } from "./errors.js";

/** Most compiled validators kept (a catalog rarely has more types; past it the oldest goes). */
const MAX_CACHED = 500;
/** Schema errors reported for one subject, so a subject with thousands of mistakes stays a small answer. */
const MAX_ERRORS = 20;

const compiled = new Map<string, ValidateFunction>();

function compile(schemaText: string): ValidateFunction {
  let fn = compiled.get(schemaText);
  if (fn) return fn;
  // One Ajv per schema: two types' schemas may carry the same `$id`. The meta-schema check on
  // compile refuses invalid schemas; unknown keywords are annotations (as JSON Schema says), and
  // `format` is an annotation too (draft 2020-12's default).
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false, logger: false });
  fn = ajv.compile(JSON.parse(schemaText) as object);
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
  compiled.set(schemaText, fn);
  return fn;
}

/** Why `schema` is not a usable JSON Schema 2020-12 for subjects, or null when it is. */
export function schemaProblem(schema: unknown): string | null {
  if (typeof schema !== "boolean" && (schema === null || typeof schema !== "object" || Array.isArray(schema))) {
    return "must be a JSON Schema (draft 2020-12): an object or a boolean";
  }
  const s = schema as Record<string, unknown>;
  if (typeof schema === "object" && s.$schema !== undefined && s.$schema !== "https://json-schema.org/draft/2020-12/schema") {
    return `must be draft 2020-12 ("$schema": "https://json-schema.org/draft/2020-12/schema" or none), got ${JSON.stringify(s.$schema).slice(0, 100)}`;
  }
  try {
    compile(JSON.stringify(schema));
    return null;
  } catch (err) {
    return `is not a valid JSON Schema: ${(err as Error).message.slice(0, 500)}`;
  }
}

/** The subject's mismatches with the schema (stored JSON text), as field errors; empty when it matches. */
export function subjectErrors(schemaText: string, subject: unknown): FieldError[] {
  const validate = compile(schemaText);
  if (validate(subject)) return [];
  return (validate.errors ?? []).slice(0, MAX_ERRORS).map((e) => ({ field: fieldOf(e), message: messageOf(e) }));
}

/** `/totals/passed` → `subject.totals.passed`; a missing property names the property itself. */
function fieldOf(e: ErrorObject): string {
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (e.keyword === "required") path.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === "additionalProperties") path.push(String((e.params as { additionalProperty: string }).additionalProperty));
  return ["subject", ...path].join(".");
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === "required") return "is required by the event type's schema";
  if (e.keyword === "additionalProperties") return "is not allowed by the event type's schema";
  return `${e.message ?? "does not match"} (schema ${e.schemaPath})`;
}
