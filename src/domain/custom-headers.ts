/**
 * A webhook's custom request headers (docs/receivers.md, "Custom headers"): at most 10 names that are
 * HTTP tokens, each with a value of at most 1,000 characters and no line breaks. Names Hookline sets
 * itself, or that would change how the request is framed or signed, are refused in any case, so a
 * custom header can never override a signature, the body's length or the credential of `auth`.
 */
import type { FieldError } from "./errors.js";

export const MAX_CUSTOM_HEADERS = 10;
export const MAX_HEADER_VALUE_LENGTH = 1000;

/** RFC 9110 `token`: the characters a field name may hold. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "te",
  "upgrade",
  "user-agent",
  "authorization",
  "signature",
  "traceparent",
  "tracestate",
]);
const RESERVED_PREFIXES = ["hookline-", "webhook-"];
// Tabs are allowed inside a field value (RFC 9110); every other control character is not.
const BAD_VALUE_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Why `name` cannot be a custom (or API-key) header name, or null when it can. */
export function headerNameProblem(name: string): string | null {
  if (name === "") return "must not be empty";
  if (name.length > 100) return "must be at most 100 characters long";
  if (!TOKEN.test(name)) return "must be an HTTP header name: letters, digits and !#$%&'*+.^_`|~- only";
  const lower = name.toLowerCase();
  if (RESERVED.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
    return `"${name}" is set by Hookline itself and cannot be given (Host, Content-*, Authorization, Signature, User-Agent, Hookline-*, webhook-* and the like)`;
  }
  return null;
}

/** Why `value` cannot be a header value, or null when it can. */
export function headerValueProblem(value: string): string | null {
  if (value.length > MAX_HEADER_VALUE_LENGTH) return `must be at most ${MAX_HEADER_VALUE_LENGTH} characters long`;
  if (BAD_VALUE_CHARS.test(value)) return "must not contain line breaks or other control characters";
  return null;
}

export type HeadersCheck = { value: Record<string, string> | null } | { errors: FieldError[] };

/** `null` removes the option; errors name each bad entry as `headers.<name>`. */
export function checkCustomHeaders(raw: unknown): HeadersCheck {
  if (raw === null) return { value: null };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { errors: [{ field: "headers", message: 'headers must be an object of header names to string values, e.g. {"X-Tenant": "acme"}, or null.' }] };
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  const errors: FieldError[] = [];
  if (entries.length > MAX_CUSTOM_HEADERS) {
    errors.push({ field: "headers", message: `headers may name at most ${MAX_CUSTOM_HEADERS} headers (it has ${entries.length}).` });
  }
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    const field = `headers.${name}`;
    const nameProblem = headerNameProblem(name);
    if (nameProblem) errors.push({ field, message: `header name ${nameProblem}.` });
    else if (seen.has(name.toLowerCase())) errors.push({ field, message: `header "${name}" is given twice (names are case-insensitive).` });
    seen.add(name.toLowerCase());
    if (typeof value !== "string") errors.push({ field, message: `${field} must be a string.` });
    else {
      const valueProblem = headerValueProblem(value);
      if (valueProblem) errors.push({ field, message: `${field} ${valueProblem}.` });
    }
  }
  return errors.length > 0 ? { errors } : { value: Object.fromEntries(entries as [string, string][]) };
}
