/**
 * The OpenAPI 3.1 `webhooks` object: one entry per catalog event type, describing the POST a
 * receiver gets (body, example, headers), so receivers can generate types from /api/openapi.json.
 */
import type { EventType } from "../domain/catalog.js";

type Json = Record<string, unknown>;

const header = (name: string, description: string, schema: Json, required: boolean): Json => ({ name, in: "header", required, description, schema });

function deliveryHeaders(event: string): Json[] {
  return [
    header("User-Agent", "`Hookline/<version>`", { type: "string" }, true),
    header("Hookline-Event", "The event name.", { type: "string", const: event }, true),
    header("Hookline-Delivery", "The delivery id, stable across retries of the delivery (deduplicate on it).", { type: "string", pattern: "^dlv_" }, true),
    header("Hookline-Attempt", "Attempt number, 1-based.", { type: "string", pattern: "^[1-9][0-9]*$" }, true),
    header(
      "Signature",
      "With a secret: lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the secret.",
      { type: "string", pattern: "^[0-9a-f]{64}$" },
      false,
    ),
    header("webhook-id", "Standard Webhooks: the delivery id.", { type: "string" }, false),
    header("webhook-timestamp", "Standard Webhooks: unix seconds of this attempt.", { type: "string", pattern: "^[0-9]+$" }, false),
    header(
      "webhook-signature",
      "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256>` (and `v1a,<base64 Ed25519>`) signatures of `id.timestamp.body`.",
      { type: "string" },
      false,
    ),
    header("traceparent", "W3C Trace Context of the attempt, when the sender exports OpenTelemetry traces.", { type: "string" }, false),
  ];
}

/** A schema for a subject without one: the shape of its example (types only, nothing required). */
function exampleShape(example: unknown): Json {
  if (typeof example === "string") return { type: "string" };
  if (typeof example === "number") return { type: "number" };
  if (typeof example === "boolean") return { type: "boolean" };
  if (Array.isArray(example)) return { type: "array", items: example.length ? exampleShape(example[0]) : {} };
  if (example && typeof example === "object") {
    return { type: "object", properties: Object.fromEntries(Object.entries(example).map(([k, v]) => [k, exampleShape(v)])) };
  }
  return {};
}

/** A subject schema embedded in the document: `$schema` is the document's dialect already. */
function embedded(schema: unknown): Json | boolean {
  if (typeof schema === "boolean") return schema;
  const { $schema: _dialect, ...rest } = schema as Json;
  return rest;
}

export function webhooksDoc(types: EventType[]): Json {
  return Object.fromEntries(
    types.map((t) => {
      const body = {
        type: "object",
        required: ["id", "event", "created_at", "project_id", "subject"],
        properties: {
          id: { type: "string", pattern: "^evt_", description: "The event id (the same in every delivery of this event)." },
          event: { type: "string", const: t.name },
          created_at: { type: "string", format: "date-time" },
          project_id: { type: "string" },
          subject: {
            ...(t.schema === null ? exampleShape(t.example) : (embedded(t.schema) as Json)),
            description: t.schema === null ? "Shaped like the example." : "Matches the event type's schema.",
          },
        },
      };
      const example = { id: "evt_01JD2Z0X7E8Q4W5R6T7Y8U9I0P", event: t.name, created_at: "2026-01-01T12:00:00.000Z", project_id: "acme", subject: t.example };
      const operation = {
        operationId: `webhook_${t.name.replace(/[^A-Za-z0-9]/g, "_")}`,
        summary: t.name,
        description: t.description,
        parameters: deliveryHeaders(t.name),
        requestBody: { required: true, content: { "application/json": { schema: body, example } } },
        responses: { "2XX": { description: "Any 2xx answer acknowledges the delivery; anything else is retried." } },
      };
      return [t.name, { post: operation }];
    }),
  );
}
