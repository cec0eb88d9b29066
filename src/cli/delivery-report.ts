/**
 * How `hookline listen` describes a received request: event, delivery id, attempt, signature check
 * (with src/verify.ts, as a receiver would) and a one-line body preview.
 */
import type { IncomingHttpHeaders } from "node:http";
import { verifySignature, verifyWebhook, WebhookVerificationError } from "../verify.js";

export type SignatureCheck = { state: "valid" } | { state: "invalid"; reason: string } | { state: "unsigned" } | { state: "not-checked" };

export interface ReceivedDelivery {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** From Hookline-Event; null for a request that is not a Hookline delivery. */
  event: string | null;
  deliveryId: string | null;
  attempt: number | null;
  signature: SignatureCheck;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Checks both signatures Hookline sends; either secret of `secrets` may match (rotation). */
export function checkSignature(secrets: string[], body: Buffer, headers: IncomingHttpHeaders): SignatureCheck {
  const plain = header(headers, "signature");
  const standard = header(headers, "webhook-signature");
  if (!plain && !standard) return { state: "unsigned" };
  if (secrets.length === 0) return { state: "not-checked" };
  let reason = "";
  for (const secret of secrets) {
    const plainOk = plain === undefined || verifySignature(secret, body, plain);
    let standardError: WebhookVerificationError | null = null;
    if (standard !== undefined) {
      try {
        verifyWebhook(secret, body, headers as Record<string, string | string[] | undefined>);
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
        // invalid_body: the signature itself is good, the body is just not JSON.
        if (err.code !== "invalid_body") standardError = err;
      }
    }
    if (plainOk && !standardError) return { state: "valid" };
    if (!plainOk && (standard === undefined || standardError?.code === "invalid_signature")) {
      reason = "no signature matches: a different secret, or the body was changed on the way";
    } else if (standardError) reason = standardError.message;
    else reason = "the Signature header does not match the body (webhook-signature does)";
  }
  return { state: "invalid", reason: secrets.length > 1 ? `${reason} (tried ${secrets.length} secrets)` : reason };
}

export function describeRequest(req: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer }, secrets: string[]): ReceivedDelivery {
  const attempt = Number(header(req.headers, "hookline-attempt"));
  return {
    ...req,
    event: header(req.headers, "hookline-event") ?? null,
    deliveryId: header(req.headers, "hookline-delivery") ?? null,
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null,
    signature: checkSignature(secrets, req.body, req.headers),
  };
}

const cut = (text: string, max: number) => ([...text].length > max ? `${[...text].slice(0, max - 1).join("")}…` : text);

/**
 * The body on one line, cut at `max` characters. A Hookline body shows its event id, project and
 * subject (the envelope's other fields are on the line above); anything else is printed compactly.
 */
export function bodyPreview(body: Buffer, max = 160): string {
  const text = body.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat === "" ? "(empty body)" : cut(flat, max);
  }
  const b = parsed as { id?: unknown; project_id?: unknown; subject?: unknown } | null;
  if (b && typeof b === "object" && typeof b.id === "string" && typeof b.project_id === "string" && "subject" in b) {
    return cut(`${b.id}  project ${b.project_id}  subject ${JSON.stringify(b.subject)}`, max);
  }
  return cut(JSON.stringify(parsed), max);
}

function signatureLabel(s: SignatureCheck): string {
  switch (s.state) {
    case "valid":
      return "signature ✓";
    case "invalid":
      return "signature ✗";
    case "unsigned":
      return "unsigned";
    case "not-checked":
      return "signature not checked (pass --secret)";
  }
}

/** Lines to print for one request; `answer` is the status the listener replied with. */
export function reportLines(d: ReceivedDelivery, answer: number, at = new Date()): string[] {
  const time = at.toTimeString().slice(0, 8);
  const indent = " ".repeat(time.length + 2);
  if (d.event === null) {
    return [`${time}  ${d.method} ${d.path}  (not a Hookline delivery: no Hookline-Event header)  → ${answer}`];
  }
  const head = [d.event, d.deliveryId ?? "(no Hookline-Delivery)", `attempt ${d.attempt ?? "?"}`, signatureLabel(d.signature), `→ ${answer}`];
  const lines = [`${time}  ${head.join("  ")}`];
  if (d.signature.state === "invalid") lines.push(`${indent}✗ ${d.signature.reason}`);
  lines.push(`${indent}${bodyPreview(d.body)}`);
  return lines;
}
