/** The one place that turns failures into HTTP answers of the spec's shape. */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HooklineError, RateLimitedError, ValidationError, type FieldError } from "../domain/errors.js";
import { UnreadableSecretError } from "../domain/secret-box.js";
import { UNKNOWN_FIELD_MESSAGE } from "./unknown-fields.js";

const STATUS: Record<string, number> = {
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  active_webhook_limit: 409,
  webhook_disabled: 409,
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
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; type?: string; allowedValue?: unknown; allowedValues?: unknown[] };
}

/**
 * Schema (type) errors → one detail per top-level field, like the domain rules give, so a form can
 * show each next to its input. Alternatives of a union ("string or null") are merged into one message.
 */
export function ajvDetails(err: FastifyError): FieldError[] {
  const list = ((err as { validation?: AjvError[] }).validation ?? []) as AjvError[];
  const ctx = (err as { validationContext?: string }).validationContext ?? "body";
  const byPath = new Map<string, { field: string; where: string; types: string[]; allowed: unknown[]; messages: string[] }>();
  const unknown: FieldError[] = [];
  for (const v of list) {
    if (v.keyword === "anyOf" || v.keyword === "oneOf") continue; // the alternatives' own errors say what was expected
    const segments = (v.instancePath ?? "")
      .split("/")
      .filter(Boolean)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (v.keyword === "additionalProperties" && v.params?.additionalProperty !== undefined) {
      // An unknown field is named by its whole path, so each one can be told apart.
      const field = [...segments, v.params.additionalProperty].join(".");
      unknown.push({ field, message: `${field} ${UNKNOWN_FIELD_MESSAGE}.` });
      continue;
    }
    if (v.params?.missingProperty) segments.push(v.params.missingProperty);
    const key = segments.join("/");
    let entry = byPath.get(key);
    if (!entry) {
      const where = segments
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
        .join("");
      entry = { field: segments[0] ?? ctx, where: where && `${segments[0]}${where}`, types: [], allowed: [], messages: [] };
      byPath.set(key, entry);
    }
    if (v.params?.missingProperty) entry.messages.push("is required");
    else if (v.keyword === "type" && v.params?.type) entry.types.push(...v.params.type.split(","));
    else if (v.keyword === "const") entry.allowed.push(v.params?.allowedValue);
    else if (v.keyword === "enum") entry.allowed.push(...(v.params?.allowedValues ?? []));
    else entry.messages.push(v.message ?? "is invalid");
  }
  return [
    ...unknown,
    ...[...byPath.values()].map((e) => {
      const parts = [...new Set(e.messages)];
      if (e.types.length) parts.push(`must be ${[...new Set(e.types)].join(" or ")}`);
      if (e.allowed.length) parts.push(`must be one of ${e.allowed.map((a) => JSON.stringify(a)).join(", ")}`);
      const message = parts.join("; ") || "is invalid";
      return { field: e.field, message: e.where ? `${e.where} ${message}` : message };
    }),
  ];
}

/**
 * Errors that are the database's, not the caller's: answer 503 so the client retries. The statement's
 * transaction was rolled back (or never began), so "nothing was stored" holds.
 * PostgreSQL going away, as node-postgres reports it: refused or reset connections while it is down,
 * "Connection terminated unexpectedly" for a query in flight when it stops, "Client has encountered a
 * connection error and is not queryable" for the next statement on such a client (e.g. the ROLLBACK
 * after the failure), 57P01-03 admin shutdown / crash / "the database system is starting up",
 * class 08 connection exceptions, class 53 insufficient resources, and pool timeouts. 40001/40P01
 * (serialization failure, deadlock) are transient too: the same request succeeds when retried.
 * 25006 (read-only transaction): the database takes no writes right now, e.g. a failed-over old
 * primary or a server set read-only for maintenance. 55P03 (lock_timeout) and 57014
 * (statement_timeout): another session held a lock, or the database was too slow, for longer than
 * HOOKLINE_DB_LOCK_TIMEOUT_MS / HOOKLINE_DB_STATEMENT_TIMEOUT_MS.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = String(e?.code ?? "");
  return (
    /^(SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P0[1-3]|08\d{3}|53\d{3}|40001|40P01|25006|55P03|57014)/.test(
      code,
    ) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
      e?.message ?? "",
    )
  );
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refused (not HTTP, bad header lines,
 * headers over the size limit, too slow to arrive). Answered in the spec's shape, and logged without
 * the parser's `rawPacket`: those bytes hold the request's Authorization header.
 */
export function clientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "request_timeout", "The request did not arrive in time."]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "headers_too_large", "The request headers are too large."]
        : [400, "bad_request", "The request is not valid HTTP."];
  this.log.debug({ err: { code: err.code, message: err.message } }, "malformed HTTP request");
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's `frameworkErrors` option: failures before a route is found (bad URL encoding, over-long params). */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split("?")[0];
  if (err.code === "FST_ERR_BAD_URL" || err.code === "FST_ERR_MAX_PARAM_LENGTH") {
    reply.status(404).send(errorBody("not_found", `No resource at ${path.length > 200 ? `${path.slice(0, 200)}…` : path}.`));
    return;
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  reply.status(status).send(errorBody(status === 404 ? "not_found" : "bad_request", err.message));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HooklineError) {
      if (err instanceof RateLimitedError) reply.header("retry-after", String(err.retryAfterSeconds));
      const details = err instanceof ValidationError ? err.details : undefined;
      return reply.status(STATUS[err.code] ?? 400).send(errorBody(err.code, err.message, details));
    }
    if ((err as { validation?: unknown }).validation) {
      const details = ajvDetails(err);
      const first = details[0];
      const message = !first ? "Invalid request." : first.message.startsWith(first.field) ? first.message : `${first.field} ${first.message}`;
      return reply.status(422).send(errorBody("validation_failed", message, details));
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
    // A stored secret sealed with a key the server no longer holds is the operator's to fix, not the
    // caller's: 503, and the key names go to the server log only.
    if (err instanceof UnreadableSecretError) {
      request.log.error({ err: { message: err.message } }, "stored secret cannot be opened");
      return reply
        .status(503)
        .send(
          errorBody("unavailable", "A stored secret of this webhook cannot be decrypted with the server's encryption keys; an operator must restore the key."),
        );
    }
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err: { code: (err as { code?: string }).code, message: err.message } }, "database unavailable");
      return reply.status(503).header("retry-after", "1").send(errorBody("unavailable", "The database is unavailable; nothing was stored. Try again."));
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, "unhandled error");
    const code =
      status === 500 ? "internal" : status === 404 ? "not_found" : status === 403 ? "forbidden" : status === 405 ? "method_not_allowed" : "bad_request";
    return reply.status(status).send(errorBody(code, status === 500 ? "Internal error." : err.message));
  });
}

/** The answer when no route matches. */
export function notFound(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send(errorBody("not_found", `No route ${request.method} ${request.url.split("?")[0]}.`));
}
