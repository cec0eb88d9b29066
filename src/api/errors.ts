/** The one place that turns failures into HTTP answers of the spec's shape. */
import type { FastifyError, FastifyInstance } from "fastify";
import { HooklineError, ValidationError, type FieldError } from "../domain/errors.js";

const STATUS: Record<string, number> = {
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  active_webhook_limit: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  unavailable: 503,
};

export function errorBody(code: string, message: string, details?: FieldError[]) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string };
}

function ajvDetails(err: FastifyError): FieldError[] {
  const list = ((err as { validation?: AjvError[] }).validation ?? []) as AjvError[];
  const ctx = (err as { validationContext?: string }).validationContext ?? "body";
  return list.map((v) => {
    const fromPath = (v.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".");
    const field = v.params?.missingProperty ?? (fromPath || ctx);
    return { field, message: v.params?.missingProperty ? "is required" : (v.message ?? "is invalid") };
  });
}

/** Errors that are the database's, not the caller's: answer 503 so the client retries. */
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = String(e?.code ?? "");
  return (
    /^(SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|57P0[1-3]|08\d{3}|53\d{3})/.test(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e?.message ?? "")
  );
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HooklineError) {
      const details = err instanceof ValidationError ? err.details : undefined;
      return reply.status(STATUS[err.code] ?? 400).send(errorBody(err.code, err.message, details));
    }
    if ((err as { validation?: unknown }).validation) {
      const details = ajvDetails(err);
      return reply.status(422).send(errorBody("validation_failed", details[0] ? `${details[0].field} ${details[0].message}` : "Invalid request.", details));
    }
    switch (err.code) {
      case "FST_ERR_CTP_INVALID_JSON_BODY":
      case "FST_ERR_CTP_EMPTY_JSON_BODY":
      case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
        return reply.status(400).send(errorBody("invalid_json", "The request body is not valid JSON."));
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        return reply.status(413).send(errorBody("payload_too_large", "The request body is too large."));
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        return reply.status(415).send(errorBody("unsupported_media_type", "Send JSON with Content-Type: application/json."));
    }
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err: { code: (err as { code?: string }).code, message: err.message } }, "database unavailable");
      return reply.status(503).header("retry-after", "1").send(errorBody("unavailable", "The database is unavailable; nothing was stored. Try again."));
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, "unhandled error");
    const code = status === 500 ? "internal" : status === 404 ? "not_found" : status === 405 ? "method_not_allowed" : "bad_request";
    return reply.status(status).send(errorBody(code, status === 500 ? "Internal error." : err.message));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody("not_found", `No route ${request.method} ${request.url.split("?")[0]}.`));
  });
}
