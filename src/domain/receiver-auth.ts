/**
 * How a webhook authenticates to its receiver (docs/receivers.md, "Authentication"): a Bearer token,
 * Basic credentials, an API-key header, or an OAuth2 client-credentials token. Each type has one
 * secret field (token, password, value, client_secret): it is stored apart from the rest, sealed like
 * webhook secrets, and never shown; the other fields are shown by GET.
 */
import type { FieldError } from "./errors.js";
import { headerNameProblem, headerValueProblem } from "./custom-headers.js";
import { checkWebhookUrl, type UrlPolicy } from "./url-policy.js";

export type ReceiverAuth =
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string }
  | { type: "header"; name: string; value: string }
  | { type: "oauth2_client_credentials"; token_url: string; client_id: string; client_secret: string; scope?: string; audience?: string };

export type AuthType = ReceiverAuth["type"];

/** The fields of each type, and which one of them is the secret. */
const FIELDS: Record<AuthType, { required: string[]; optional: string[]; secret: string }> = {
  bearer: { required: ["token"], optional: [], secret: "token" },
  basic: { required: ["username", "password"], optional: [], secret: "password" },
  header: { required: ["name", "value"], optional: [], secret: "value" },
  oauth2_client_credentials: { required: ["token_url", "client_id", "client_secret"], optional: ["scope", "audience"], secret: "client_secret" },
};

export const AUTH_TYPES = Object.keys(FIELDS) as AuthType[];

/** What GET shows and what is stored in clear: the auth without its secret field. */
export type PublicAuth = Record<string, string> & { type: AuthType };

const MAX_TEXT = 1000;
const CONTROL = /[\u0000-\u001f\u007f]/;

function textProblem(value: unknown, max = MAX_TEXT): string | null {
  if (typeof value !== "string") return "must be a string";
  if (value === "") return "must not be empty";
  if (value.length > max) return `must be at most ${max} characters long`;
  if (CONTROL.test(value)) return "must not contain line breaks or other control characters";
  return null;
}

export type AuthCheck = { value: ReceiverAuth | null } | { errors: FieldError[] };

/** `null` removes the option; errors name the path, e.g. `auth.token_url`. */
export function checkReceiverAuth(raw: unknown, policy: UrlPolicy): AuthCheck {
  if (raw === null) return { value: null };
  const types = AUTH_TYPES.map((t) => `"${t}"`).join(", ");
  if (typeof raw !== "object" || Array.isArray(raw)) return { errors: [{ field: "auth", message: `auth must be an object with a type (${types}), or null.` }] };
  const input = raw as Record<string, unknown>;
  const spec = FIELDS[input.type as AuthType];
  if (typeof input.type !== "string" || !spec) return { errors: [{ field: "auth.type", message: `auth.type must be one of ${types}.` }] };
  const errors: FieldError[] = [];
  const known = new Set(["type", ...spec.required, ...spec.optional]);
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      errors.push({ field: `auth.${key}`, message: `auth.${key} is not a field of auth type "${input.type}" (it takes ${[...known].join(", ")}).` });
  }
  for (const key of [...spec.required, ...spec.optional]) {
    const value = input[key];
    if (value === undefined || value === null) {
      if (spec.required.includes(key)) errors.push({ field: `auth.${key}`, message: `auth.${key} is required for auth type "${input.type}".` });
      continue;
    }
    const problem = fieldProblem(key, value, policy);
    if (problem) errors.push({ field: `auth.${key}`, message: `auth.${key} ${problem}.` });
  }
  if (errors.length > 0) return { errors };
  const out: Record<string, string> = { type: input.type };
  for (const key of [...spec.required, ...spec.optional])
    if (typeof input[key] === "string") out[key] = key === "token_url" ? (input[key] as string).trim() : (input[key] as string);
  return { value: out as ReceiverAuth };
}

function fieldProblem(key: string, value: unknown, policy: UrlPolicy): string | null {
  switch (key) {
    case "token_url": {
      const result = checkWebhookUrl(value, policy);
      return result.ok ? null : result.message.replace(/^url /, "");
    }
    case "name":
      return typeof value === "string" ? headerNameProblem(value) : "must be a string";
    case "value":
      return typeof value === "string" && value !== "" ? headerValueProblem(value) : "must be a non-empty string";
    case "username":
      // RFC 7617: a colon would end the user-id early.
      return textProblem(value, 256) ?? ((value as string).includes(":") ? "must not contain a colon" : null);
    case "client_id":
      return textProblem(value, 256);
    default:
      return textProblem(value, 4096);
  }
}

/** Splits an auth into what is stored in clear and its secret (stored sealed). */
export function splitAuth(auth: ReceiverAuth): { shown: PublicAuth; secret: string } {
  const secretField = FIELDS[auth.type].secret;
  const { [secretField]: secret, ...shown } = auth as unknown as Record<string, string>;
  return { shown: shown as PublicAuth, secret };
}

/** Puts the secret back: the auth an attempt uses. */
export function joinAuth(shown: PublicAuth, secret: string): ReceiverAuth {
  return { ...shown, [FIELDS[shown.type].secret]: secret } as unknown as ReceiverAuth;
}

/**
 * The header a static auth adds to an attempt (OAuth2's comes from its token endpoint), and the
 * header name the log must redact.
 */
export function staticAuthHeader(auth: ReceiverAuth): [name: string, value: string] | null {
  switch (auth.type) {
    case "bearer":
      return ["Authorization", `Bearer ${auth.token}`];
    case "basic":
      return ["Authorization", `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`];
    case "header":
      return [auth.name, auth.value];
    default:
      return null;
  }
}
