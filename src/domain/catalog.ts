/**
 * The event catalog: the default one for a test-management product, and the rules for operator
 * catalogs (HOOKLINE_EVENT_TYPES file or the admin API).
 */
import { ValidationError, type FieldError } from "./errors.js";

export interface EventType {
  name: string;
  description: string;
  example: unknown;
}

/** Sent only by the Test action; never subscribed to or published. */
export const TEST_EVENT = "test-event";

export const EVENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$/;

const user = { id: "usr_42", name: "Ada Lovelace" };

function entity(kind: string, fields: Record<string, unknown>) {
  return (verb: string, description: string): EventType => ({
    name: `${kind}.${verb}`,
    description,
    example: { ...fields, updated_by: user },
  });
}

const requirement = entity("requirement", { id: "REQ-12", title: "Users can reset their password", status: "approved", priority: "high" });
const risk = entity("risk", { id: "RSK-3", title: "Payment provider outage", likelihood: "medium", impact: "high" });
const testCase = entity("test-case", { id: "TC-101", title: "Reset password with a valid link", folder: "Accounts", priority: "high" });
const testRun = entity("test-run", { id: "TR-7", name: "Release 2.4 regression", status: "in_progress", milestone_id: "MS-2", totals: { passed: 120, failed: 3, blocked: 1, untested: 6 } });
const testResult = entity("test-result", { id: "RES-9001", test_run_id: "TR-7", test_case_id: "TC-101", status: "failed", comment: "Link expired immediately" });
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
export function checkEventType(name: unknown, body: { description?: unknown; example?: unknown }, prefix = ""): EventType {
  const errors: FieldError[] = [];
  if (typeof name !== "string" || !EVENT_NAME_PATTERN.test(name) || name.length > 100) {
    errors.push({ field: `${prefix}name`, message: "must be a dotted lowercase name such as test-run.completed (at most 100 characters)" });
  } else if (name === TEST_EVENT || name === "webhook.disabled") {
    errors.push({ field: `${prefix}name`, message: `"${name}" is reserved by Hookline` });
  }
  if (typeof body.description !== "string" || body.description.trim() === "" || body.description.length > 1000) {
    errors.push({ field: `${prefix}description`, message: "must be a non-empty string of at most 1000 characters" });
  }
  if (errors.length) throw new ValidationError(errors);
  return { name: name as string, description: (body.description as string).trim(), example: body.example ?? {} };
}

/**
 * Parses the HOOKLINE_EVENT_TYPES file. A JSON array replaces the default catalog;
 * `{ "extends": "default", "event_types": [...] }` adds to (or overrides entries of) it.
 */
export function parseCatalogFile(json: string): EventType[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`is not valid JSON (${(err as Error).message})`);
  }
  let list: unknown;
  let base: EventType[] = [];
  if (Array.isArray(doc)) list = doc;
  else if (doc && typeof doc === "object" && Array.isArray((doc as { event_types?: unknown }).event_types)) {
    list = (doc as { event_types: unknown[] }).event_types;
    if ((doc as { extends?: unknown }).extends === "default") base = DEFAULT_CATALOG;
  } else throw new Error('must be a JSON array of {name, description, example} or {"extends": "default", "event_types": [...]}');
  const byName = new Map(base.map((t) => [t.name, t]));
  (list as unknown[]).forEach((entry, i) => {
    if (!entry || typeof entry !== "object") throw new Error(`entry ${i} must be an object`);
    const e = entry as { name?: unknown; description?: unknown; example?: unknown };
    try {
      const t = checkEventType(e.name, e);
      byName.set(t.name, t);
    } catch (err) {
      const detail = err instanceof ValidationError ? err.details.map((d) => `${d.field} ${d.message}`).join("; ") : String(err);
      throw new Error(`entry ${i}: ${detail}`);
    }
  });
  if (byName.size === 0) throw new Error("must define at least one event type");
  return [...byName.values()];
}
