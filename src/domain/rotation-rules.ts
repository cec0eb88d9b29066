/** The body of a secret rotation: an optional new secret and how long the old one stays valid. */
import { ValidationError, type FieldError } from "./errors.js";
import { checkSecret } from "./webhook-rules.js";

export const DEFAULT_PREVIOUS_VALID_SECONDS = 86_400;
/** A week: long enough for any receiver's deploy cycle, short enough that a leaked secret dies. */
export const MAX_PREVIOUS_VALID_SECONDS = 604_800;

export interface RotationInput {
  secret?: unknown;
  previous_valid_seconds?: unknown;
}

export function validateRotation(input: unknown): { secret: string | null; previousValidSeconds: number } {
  if (input === undefined || input === null) input = {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError([{ field: "body", message: "The request body must be a JSON object (or empty)." }]);
  }
  const body = input as RotationInput;
  const errors: FieldError[] = [];
  let secret: string | null = null;
  if (body.secret !== undefined && body.secret !== null) {
    const result = checkSecret(body.secret);
    if ("error" in result) errors.push({ field: "secret", message: result.error });
    else secret = result.value;
    if (typeof secret === "string" && secret.includes("\u0000")) errors.push({ field: "secret", message: "secret must not contain NUL characters." });
  }
  let previousValidSeconds = DEFAULT_PREVIOUS_VALID_SECONDS;
  const raw = body.previous_valid_seconds;
  if (raw !== undefined) {
    if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0 || raw > MAX_PREVIOUS_VALID_SECONDS) {
      const message = `previous_valid_seconds must be a whole number of seconds from 0 to ${MAX_PREVIOUS_VALID_SECONDS}.`;
      errors.push({ field: "previous_valid_seconds", message });
    } else previousValidSeconds = raw;
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { secret, previousValidSeconds };
}
