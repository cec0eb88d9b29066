/**
 * What a webhook may look like: a name of 1–100 characters, 1 or more known event types, an allowed
 * https URL, an optional secret of 1–256 characters, and the receiver options (custom headers, auth,
 * client certificate), each checked by its own module. Every bad field is reported at once so a form
 * can mark them all in one round trip.
 */
import { randomBytes } from "node:crypto";
import { TEST_EVENT } from "./catalog.js";
import { checkClientCertificate, type ClientCertificate } from "./client-certificate.js";
import { checkCustomHeaders } from "./custom-headers.js";
import { checkPolicies, type PolicyInput, type ValidPolicies } from "./delivery-policy-rules.js";
import { ValidationError, type FieldError } from "./errors.js";
import { checkReceiverAuth, type ReceiverAuth } from "./receiver-auth.js";
import { checkWebhookUrl, type UrlPolicy } from "./url-policy.js";

export interface WebhookInput extends PolicyInput {
  name?: unknown;
  events?: unknown;
  url?: unknown;
  secret?: unknown;
  enabled?: unknown;
  headers?: unknown;
  auth?: unknown;
  client_certificate?: unknown;
}

export interface ValidWebhookFields extends ValidPolicies {
  name?: string;
  events?: string[];
  url?: string;
  /** `null` means "no secret" (create) or "remove the secret" (PATCH). */
  secret?: string | null;
  enabled?: boolean;
  /** For each option, `null` means "remove it" (PATCH) or "none" (create). */
  headers?: Record<string, string> | null;
  auth?: ReceiverAuth | null;
  client_certificate?: ClientCertificate | null;
}

export interface WebhookRuleOptions {
  /** PATCH: every field is optional, but whatever is present must be valid. */
  partial: boolean;
  catalog: ReadonlySet<string>;
  urlPolicy: UrlPolicy;
  /** The time a client certificate must not have expired by. Default now. */
  now?: number;
}

/**
 * Every field a webhook takes. Others are refused, by the API and the library alike: a caller must
 * never believe an option took effect when this version does not know it.
 */
export const WEBHOOK_FIELDS: ReadonlyArray<keyof WebhookInput> = [
  "name",
  "events",
  "url",
  "secret",
  "enabled",
  "headers",
  "auth",
  "client_certificate",
  "filter",
  "rate_limit",
  "ordering",
];

export const NAME_MAX_LENGTH = 100;
export const SECRET_MAX_LENGTH = 256;

type Check<T> = { value: T } | { error: string };

/** Counted in code points, so an emoji is one character, as a person would count it. */
const charCount = (text: string) => [...text].length;

// Control characters in a name would break the one-line table and log views.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function checkName(raw: unknown): Check<string> {
  if (typeof raw !== "string") return { error: "name must be a string." };
  const name = raw.trim();
  if (name === "") return { error: "name must not be empty." };
  if (charCount(name) > NAME_MAX_LENGTH) {
    return { error: `name must be at most ${NAME_MAX_LENGTH} characters long (it has ${charCount(name)}).` };
  }
  if (CONTROL_CHARS.test(name)) return { error: "name must not contain line breaks, tabs or other control characters." };
  return { value: name };
}

const quoteList = (names: string[]) => {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n));
  return names.length > 5 ? `${shown.join(", ")} and ${names.length - 5} more` : shown.join(", ");
};

function checkEvents(raw: unknown, catalog: ReadonlySet<string>): Check<string[]> {
  if (!Array.isArray(raw)) return { error: 'events must be a list of event type names, e.g. ["test-run.completed"].' };
  if (raw.length === 0) return { error: "events must name at least one event type." };
  const problems: string[] = [];
  const notStrings = raw.map((e, i) => (typeof e === "string" ? -1 : i)).filter((i) => i >= 0);
  if (notStrings.length > 0) {
    problems.push(`events must contain only strings (not at position ${notStrings.slice(0, 5).join(", ")})`);
  }
  const names = raw.filter((e): e is string => typeof e === "string");
  if (names.includes(TEST_EVENT)) problems.push(`"${TEST_EVENT}" is reserved for the Test action and cannot be subscribed to`);
  const unknown = [...new Set(names.filter((n) => n !== TEST_EVENT && !catalog.has(n)))];
  if (unknown.length > 0) {
    const noun = unknown.length === 1 ? "an unknown event type" : "unknown event types";
    problems.push(`events contains ${noun}: ${quoteList(unknown)}; see GET /api/v1/event-types for the catalog`);
  }
  const duplicates = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (duplicates.length > 0) problems.push(`events lists ${quoteList(duplicates)} more than once`);
  return problems.length > 0 ? { error: `${problems.join("; ")}.` } : { value: names };
}

export function checkSecret(raw: unknown): Check<string | null> {
  if (raw === null) return { value: null };
  if (typeof raw !== "string") return { error: "secret must be a string, or null for no secret." };
  if (raw === "") return { error: "secret must not be empty; omit it or send null for no secret." };
  if (charCount(raw) > SECRET_MAX_LENGTH) {
    return { error: `secret must be at most ${SECRET_MAX_LENGTH} characters long.` };
  }
  return { value: raw };
}

function checkEnabled(raw: unknown): Check<boolean> {
  return typeof raw === "boolean" ? { value: raw } : { error: "enabled must be true or false." };
}

export function validateWebhookInput(input: WebhookInput, opts: WebhookRuleOptions): ValidWebhookFields {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError([{ field: "body", message: "The request body must be a JSON object." }]);
  }
  const errors: FieldError[] = Object.keys(input)
    .filter((key) => !(WEBHOOK_FIELDS as string[]).includes(key))
    .map((field) => ({ field, message: `${field} is not a known field of a webhook (known: ${WEBHOOK_FIELDS.join(", ")}).` }));
  const out: ValidWebhookFields = {};
  const required = new Set(opts.partial ? [] : ["name", "events", "url"]);

  const take = <K extends keyof ValidWebhookFields>(field: K, check: (raw: unknown) => Check<ValidWebhookFields[K]>) => {
    const raw = input[field];
    if (raw === undefined) {
      if (required.has(field)) errors.push({ field, message: `${field} is required.` });
      return;
    }
    const result = check(raw);
    if ("error" in result) errors.push({ field, message: result.error });
    else out[field] = result.value;
  };

  take("name", checkName);
  take("events", (raw) => checkEvents(raw, opts.catalog));
  take("url", (raw) => {
    const result = checkWebhookUrl(raw, opts.urlPolicy);
    return result.ok ? { value: result.url } : { error: result.message };
  });
  take("secret", checkSecret);
  take("enabled", checkEnabled);
  // The receiver options name their own paths (e.g. `auth.token_url`, `headers.X-Tenant`).
  const option = <K extends "headers" | "auth" | "client_certificate">(field: K, result: { value: ValidWebhookFields[K] } | { errors: FieldError[] }) => {
    if ("errors" in result) errors.push(...result.errors);
    else out[field] = result.value;
  };
  if (input.headers !== undefined) option("headers", checkCustomHeaders(input.headers));
  if (input.auth !== undefined) option("auth", checkReceiverAuth(input.auth, opts.urlPolicy));
  if (input.client_certificate !== undefined) option("client_certificate", checkClientCertificate(input.client_certificate, opts.now ?? Date.now()));
  if (
    out.auth?.type === "header" &&
    out.headers &&
    Object.keys(out.headers).some((n) => n.toLowerCase() === (out.auth as { name: string }).name.toLowerCase())
  ) {
    errors.push({ field: "auth.name", message: `auth.name "${out.auth.name}" is also one of headers; give that header once.` });
  }
  Object.assign(out, checkPolicies(input, errors));

  if (errors.length > 0) throw new ValidationError(errors);
  return out;
}

/** 24 random bytes is 192 bits, far beyond brute force, and base64 keeps it copy-pasteable. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}
