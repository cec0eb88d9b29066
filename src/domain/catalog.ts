/**
 * The event catalog: the default one for a test-management product, and the rules for operator
 * catalogs (HOOKLINE_EVENT_TYPES file or the admin API).
 */
import { ValidationError, type FieldError } from "./errors.js";
import { schemaProblem } from "./subject-schema.js";

export interface EventType {
  name: string;
  description: string;
  example: unknown;
  /** JSON Schema (draft 2020-12) a published subject must match; null: any JSON object. */
  schema: unknown;
}

/** Sent only by the Test action; never subscribed to or published. */
export const TEST_EVENT = "test-event";

/** Lowercase words joined by dots, e.g. `test-run.completed` (a single word such as `deploy` is fine too). */
export const EVENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

/** Names Hookline itself sends: the Test action's event and the operator callback's. */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([TEST_EVENT, "webhook.disabled"]);

const user = { id: "usr_42", name: "Ada Lovelace" };

const JSON_SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema";

/** The schema of a value shaped like `example`: its types, every key of an object required. */
function describe(example: unknown): Record<string, unknown> {
  if (typeof example === "string") return { type: "string" };
  if (typeof example === "number") return { type: Number.isInteger(example) ? "integer" : "number" };
  if (typeof example === "boolean") return { type: "boolean" };
  if (Array.isArray(example)) return { type: "array", items: example.length ? describe(example[0]) : {} };
  if (example && typeof example === "object") {
    const entries = Object.entries(example);
    return { type: "object", properties: Object.fromEntries(entries.map(([k, v]) => [k, describe(v)])), required: entries.map(([k]) => k) };
  }
  return {};
}

/**
 * A default type's schema: the example's fields and their types, for receivers' generated types.
 * None is required and more are allowed (a deleted record's subject may carry only its id), and an
 * id may be a number: hosts use both.
 */
function subjectSchema(kind: string, example: Record<string, unknown>): Record<string, unknown> {
  const { properties } = describe(example) as { properties: Record<string, unknown> };
  return { $schema: JSON_SCHEMA_2020, title: `${kind} subject`, type: "object", properties: { ...properties, id: { type: ["string", "integer"] } } };
}

function entity(kind: string, fields: Record<string, unknown>) {
  const example = { ...fields, updated_by: user };
  const schema = subjectSchema(kind, example);
  return (verb: string, description: string): EventType => ({ name: `${kind}.${verb}`, description, example, schema });
}

const requirement = entity("requirement", { id: "REQ-12", title: "Users can reset their password", status: "approved", priority: "high" });
const risk = entity("risk", { id: "RSK-3", title: "Payment provider outage", likelihood: "medium", impact: "high" });
const testCase = entity("test-case", { id: "TC-101", title: "Reset password with a valid link", folder: "Accounts", priority: "high" });
const testRun = entity("test-run", {
  id: "TR-7",
  name: "Release 2.4 regression",
  status: "in_progress",
  milestone_id: "MS-2",
  totals: { passed: 120, failed: 3, blocked: 1, untested: 6 },
});
const testResult = entity("test-result", {
  id: "RES-9001",
  test_run_id: "TR-7",
  test_case_id: "TC-101",
  status: "failed",
  comment: "Link expired immediately",
});
const issue = entity("issue", { id: "BUG-77", title: "Reset link expires immediately", severity: "major", status: "open" });
const milestone = entity("milestone", { id: "MS-2", name: "Release 2.4", due_date: "2026-12-15", status: "active" });

export const DEFAULT_CATALOG: EventType[] = [
  requirement("created", "A requirement was created."),
  requirement("updated", "A requirement was changed."),
  requirement("deleted", "A requirement was deleted."),
  risk("created", "A risk was created."),
  risk("updated", "A risk was changed."),
  risk("deleted", "A risk was deleted."),
  testCase("created", "A test case was created."),
  testCase("updated", "A test case was changed."),
  testCase("deleted", "A test case was deleted."),
  testRun("created", "A test run was created."),
  testRun("updated", "A test run was changed (status, assignment, results)."),
  testRun("completed", "A test run was completed."),
  testRun("deleted", "A test run was deleted."),
  testResult("created", "A test result was recorded."),
  testResult("updated", "A test result was changed."),
  issue("created", "An issue was created."),
  issue("updated", "An issue was changed."),
  issue("deleted", "An issue was deleted."),
  milestone("created", "A milestone was created."),
  milestone("updated", "A milestone was changed."),
  milestone("completed", "A milestone was completed."),
];

/** Validates one event type definition from a file or the admin API. */
export function checkEventType(name: unknown, body: { description?: unknown; example?: unknown; schema?: unknown }, prefix = ""): EventType {
  const errors: FieldError[] = [];
  if (typeof name === "string" && RESERVED_EVENT_NAMES.has(name)) {
    errors.push({ field: `${prefix}name`, message: `"${name}" is reserved by Hookline and cannot be defined` });
  } else if (typeof name !== "string" || !EVENT_NAME_PATTERN.test(name) || name.length > 100) {
    errors.push({
      field: `${prefix}name`,
      message: "must be a lowercase name such as test-run.completed: letters, digits, '-' and '_', words joined by '.', at most 100 characters",
    });
  }
  if (typeof body.description !== "string" || body.description.trim() === "" || body.description.length > 1000) {
    errors.push({ field: `${prefix}description`, message: "must be a non-empty string of at most 1000 characters" });
  } else if (body.description.includes("\u0000")) {
    // PostgreSQL text cannot hold NUL.
    errors.push({ field: `${prefix}description`, message: "must not contain NUL characters" });
  }
  const problem = body.schema === undefined || body.schema === null ? null : schemaProblem(body.schema);
  if (problem) errors.push({ field: `${prefix}schema`, message: problem });
  if (errors.length) throw new ValidationError(errors);
  return { name: name as string, description: (body.description as string).trim(), example: body.example ?? {}, schema: body.schema ?? null };
}

/** An operator catalog file: its types, and whether it extends the default catalog. */
export interface CatalogFile {
  types: EventType[];
  /** `{ "extends": "default", … }`: the default catalog plus these (entries of the same name override it). */
  extendsDefault: boolean;
}

/**
 * Parses the HOOKLINE_EVENT_TYPES file. A JSON array (or `{ "event_types": [...] }`) lists types
 * without the default catalog; `{ "extends": "default", "event_types": [...] }` adds to (or overrides
 * entries of) it. Either way the types are added to the stored catalog, never removing any.
 */
export function readCatalogFile(json: string): CatalogFile {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const shape = 'must be a JSON array of {name, description, example?, schema?} or {"extends": "default", "event_types": [...]}';
  let list: unknown;
  let extendsDefault = false;
  if (Array.isArray(doc)) list = doc;
  else if (doc && typeof doc === "object" && Array.isArray((doc as { event_types?: unknown }).event_types)) {
    list = (doc as { event_types: unknown[] }).event_types;
    const ext = (doc as { extends?: unknown }).extends;
    // A typo here must not silently drop the default types.
    if (ext !== undefined && ext !== "default") throw new Error(`"extends" must be "default" (got ${JSON.stringify(ext)})`);
    extendsDefault = ext === "default";
  } else throw new Error(shape);
  const byName = new Map((extendsDefault ? DEFAULT_CATALOG : []).map((t) => [t.name, t]));
  (list as unknown[]).forEach((entry, i) => {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw new Error(`entry ${i} must be an object`);
    const e = entry as { name?: unknown; description?: unknown; example?: unknown; schema?: unknown };
    try {
      const t = checkEventType(e.name, e);
      byName.set(t.name, t);
    } catch (err) {
      const detail = err instanceof ValidationError ? err.details.map((d) => `${d.field} ${d.message}`).join("; ") : String(err);
      throw new Error(`entry ${i}: ${detail}`, { cause: err });
    }
  });
  if (byName.size === 0) throw new Error("must define at least one event type");
  return { types: [...byName.values()], extendsDefault };
}
