/**
 * Every route refuses body fields it does not know, with 422 validation_failed naming each one: a
 * client talking to an older server must never believe an option took effect when the server
 * dropped it. Body schemas are compiled closed (objects with declared properties take no others),
 * and a body sent to a route that takes none is refused field by field.
 */
import type { FastifyInstance } from "fastify";
import { ValidationError } from "../domain/errors.js";

type Schema = Record<string, unknown>;

/** A copy of `schema` in which every object with declared properties refuses others. Open maps (records, unknowns) stay open. */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    out[key] =
      key === "properties"
        ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, closeObjects(v)]))
        : key === "default" || key === "examples"
          ? value
          : closeObjects(value);
  }
  if (out.properties !== undefined && out.additionalProperties === undefined && out.patternProperties === undefined) out.additionalProperties = false;
  return out;
}

export const UNKNOWN_FIELD_MESSAGE = "is not a known field of this request; this server does not support it";

/** Routes without a body schema: any field sent is unknown. */
export function refuseBodiesWithoutSchema(app: FastifyInstance): void {
  app.addHook("preValidation", async (req) => {
    if (req.routeOptions.schema?.body !== undefined) return;
    const body = req.body as unknown;
    if (typeof body === "object" && body !== null && !Array.isArray(body) && Object.keys(body).length > 0) {
      throw new ValidationError(Object.keys(body).map((field) => ({ field, message: `${field} ${UNKNOWN_FIELD_MESSAGE}.` })));
    }
  });
}
