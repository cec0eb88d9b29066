/**
 * Errors a caller can act on. The API maps each to one HTTP status and error code
 * (src/api/errors.ts); nothing else should decide status codes.
 */

export interface FieldError {
  field: string;
  message: string;
}

export class HooklineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 422 validation_failed, with one entry per offending field. */
export class ValidationError extends HooklineError {
  constructor(
    readonly details: FieldError[],
    message = details.length === 1 ? details[0].message : "The request has invalid fields.",
  ) {
    super("validation_failed", message);
  }
}

/** 409 active_webhook_limit. */
export class LimitError extends HooklineError {
  constructor(
    readonly limit: number,
    message = `A project can have at most ${limit} active webhooks. Disable or delete one first, or create this one disabled.`,
  ) {
    super("active_webhook_limit", message);
  }
}

/** 409 webhook_disabled: the action needs an enabled webhook (recover). */
export class WebhookDisabledError extends HooklineError {
  constructor(message: string) {
    super("webhook_disabled", message);
  }
}

/** 404 not_found. */
export class NotFoundError extends HooklineError {
  constructor(what: string) {
    super("not_found", `${what} was not found.`);
  }
}

/** 401 unauthorized. */
export class UnauthorizedError extends HooklineError {
  constructor(message = "A valid bearer token is required.") {
    super("unauthorized", message);
  }
}

/** 403 forbidden. */
export class ForbiddenError extends HooklineError {
  constructor(message = "This token may not do that.") {
    super("forbidden", message);
  }
}

/** 413 payload_too_large. */
export class PayloadTooLargeError extends HooklineError {
  constructor(message: string) {
    super("payload_too_large", message);
  }
}

/** 429 rate_limited: this token (or address) made too many requests; the answer says when to retry. */
export class RateLimitedError extends HooklineError {
  constructor(readonly retryAfterSeconds: number) {
    super("rate_limited", `Too many requests; try again in ${retryAfterSeconds} s.`);
  }
}

/** 503 unavailable: the database cannot be reached or written right now; nothing was accepted. */
export class UnavailableError extends HooklineError {
  constructor(message = "The service is temporarily unavailable; nothing was stored. Try again.") {
    super("unavailable", message);
  }
}
