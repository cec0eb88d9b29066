/**
 * The receiver options as the forms edit them (custom headers, authentication, client certificate),
 * and the request body they make. A PATCH sends an option only when it changed; `auth` is replaced
 * whole, so changing it needs its secret again (the server never returns it).
 */
import type { Webhook, WebhookInput } from "../api/types";

export type AuthType = "" | "bearer" | "basic" | "header" | "oauth2_client_credentials";

export interface ReceiverDraft {
  headers: Array<{ name: string; value: string }>;
  auth: {
    type: AuthType;
    token: string;
    username: string;
    password: string;
    name: string;
    value: string;
    token_url: string;
    client_id: string;
    client_secret: string;
    scope: string;
    audience: string;
  };
  /** "keep": leave the stored certificate; "set": send cert and key; "remove": send null. */
  certificate: { mode: "keep" | "set" | "remove"; cert: string; key: string };
}

const EMPTY_AUTH: ReceiverDraft["auth"] = {
  type: "",
  token: "",
  username: "",
  password: "",
  name: "",
  value: "",
  token_url: "",
  client_id: "",
  client_secret: "",
  scope: "",
  audience: "",
};

/** The fields each type sends; the first secret one is never shown by the server. */
export const AUTH_FIELDS: Record<Exclude<AuthType, "">, Array<keyof ReceiverDraft["auth"]>> = {
  bearer: ["token"],
  basic: ["username", "password"],
  header: ["name", "value"],
  oauth2_client_credentials: ["token_url", "client_id", "client_secret", "scope", "audience"],
};
const OPTIONAL = new Set(["scope", "audience"]);

export function draftOf(w?: Webhook): ReceiverDraft {
  const shown = (w?.auth ?? {}) as Partial<Record<keyof ReceiverDraft["auth"], string>>;
  return {
    headers: Object.entries(w?.headers ?? {}).map(([name, value]) => ({ name, value })),
    auth: { ...EMPTY_AUTH, ...shown, type: (w?.auth?.type ?? "") as AuthType },
    certificate: { mode: "keep", cert: "", key: "" },
  };
}

function headersOf(d: ReceiverDraft): Record<string, string> | null {
  const rows = d.headers.filter((h) => h.name.trim() !== "" || h.value !== "");
  return rows.length === 0 ? null : Object.fromEntries(rows.map((h) => [h.name.trim(), h.value]));
}

function authOf(d: ReceiverDraft): WebhookInput["auth"] {
  if (d.auth.type === "") return null;
  const out: Record<string, string> = { type: d.auth.type };
  for (const f of AUTH_FIELDS[d.auth.type]) if (!(OPTIONAL.has(f) && d.auth[f] === "")) out[f] = d.auth[f];
  return out;
}

/** The body fields of the options: all that are set (create), or those changed since `original` (edit). */
export function receiverBody(d: ReceiverDraft, original?: Webhook): Partial<WebhookInput> {
  const body: Partial<WebhookInput> = {};
  const headers = headersOf(d);
  const auth = authOf(d);
  if (!original) {
    if (headers) body.headers = headers;
    if (auth) body.auth = auth;
    if (d.certificate.mode === "set") body.client_certificate = { cert: d.certificate.cert, key: d.certificate.key };
    return body;
  }
  if (JSON.stringify(headers) !== JSON.stringify(original.headers ?? null)) body.headers = headers;
  if (JSON.stringify(d.auth) !== JSON.stringify(draftOf(original).auth)) body.auth = auth;
  if (d.certificate.mode === "set") body.client_certificate = { cert: d.certificate.cert, key: d.certificate.key };
  if (d.certificate.mode === "remove") body.client_certificate = null;
  return body;
}

/** Server messages about the options, by path (`headers`, `auth.token_url`, `client_certificate.key`, …). */
export type OptionErrors = Record<string, string>;

const RECEIVER_FIELD = /^(headers|auth|client_certificate)(\.|$)/;

/** Fields shown next to their inputs under `Advanced` (receiver options and delivery policies), so the form's foot does not repeat them. */
export function isOptionField(field: string): boolean {
  return RECEIVER_FIELD.test(field) || /^(filter|rate_limit|ordering)(\.|$)/.test(field);
}

export function optionErrors(details: Array<{ field: string; message: string }>): OptionErrors {
  const out: OptionErrors = {};
  for (const d of details) {
    if (!RECEIVER_FIELD.test(d.field)) continue;
    // Every custom header's message is shown under the headers list.
    const key = d.field.startsWith("headers") ? "headers" : d.field;
    out[key] = out[key] ? `${out[key]} ${d.message}` : d.message;
  }
  return out;
}

/** Days until the certificate expires (negative once it has). */
export function daysLeft(notAfter: string, now = Date.now()): number {
  return (Date.parse(notAfter) - now) / 86_400_000;
}
