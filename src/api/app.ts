/** The Fastify application: JSON parsing, auth, every route, OpenAPI, and the UI's static files. */
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Ajv } from "ajv";
import formats from "ajv-formats";
import * as eventTypes from "../services/event-types.js";
import { webhooksDoc } from "./openapi-webhooks.js";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { HOOKLINE_VERSION } from "../version.js";
import type { Metrics } from "../delivery/metrics.js";
import type { Context } from "../services/context.js";
import type { Credentials } from "../services/tokens.js";
import { authorize, identify, type Access } from "./auth.js";
import "./decorators.js";
import { clientError, frameworkErrors, installErrorHandling, notFound } from "./errors.js";
import { rateLimitHook } from "./rate-limit.js";
import { closeObjects, refuseBodiesWithoutSchema } from "./unknown-fields.js";
import { eventTypeRoutes } from "./routes/event-types.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { logRoutes } from "./routes/logs.js";
import { notificationRoutes } from "./routes/notifications.js";
import { projectRoutes } from "./routes/projects.js";
import { sessionRoutes } from "./routes/sessions.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { ErrorSchema } from "./schemas.js";
import { installSecurityHeaders, installUi } from "./ui.js";

/** Largest request body: a 256 KiB subject plus room for JSON escaping. Larger subjects get our 413. */
const BODY_LIMIT = 1024 * 1024;
/**
 * A whole request, headers and body, must arrive within this (Fastify's default is no limit): a
 * client dripping a body byte by byte gets 408 and its socket back instead of holding it forever.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiOptions {
  ui?: boolean;
  /** Tests: a shorter request timeout, and how often Node looks for requests past it (default 30 s). */
  requestTimeoutMs?: number;
  timeoutCheckIntervalMs?: number;
}

/**
 * Request schemas check types only (the domain rules give the per-field messages), every error at once.
 * Query strings arrive as text, so their numbers and booleans are coerced; bodies are JSON and are not.
 */
const ajvOptions = { removeAdditional: false, allErrors: true, useDefaults: false, strict: false } as const;
// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((formats as unknown as { default?: unknown }).default ?? formats) as unknown as (ajv: Ajv) => Ajv;
const validators = { strict: addFormats(new Ajv({ ...ajvOptions, coerceTypes: false })), coercing: addFormats(new Ajv({ ...ajvOptions, coerceTypes: true })) };

export async function buildApi(ctx: Context, creds: Credentials, metrics: Metrics, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Node 20 enforces the request timeout on bodies only when the server is created with it;
    // Fastify's own option merely sets it afterwards (enough for headers, not for a dripping body).
    requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    http: {
      requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      ...(opts.timeoutCheckIntervalMs ? { connectionsCheckingInterval: opts.timeoutCheckIntervalMs } : {}),
    },
    return503OnClosing: true,
    // Long ids get the route's own answer (422 on PUT, 404 elsewhere) instead of the router's 414.
    routerOptions: { maxParamLength: 2048 },
    // Errors raised before routing (bad percent-encoding) still answer in the spec's error shape.
    frameworkErrors,
    // Requests the HTTP parser refused, too (and without logging their raw bytes).
    clientErrorHandler: clientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === "querystring"
      ? validators.coercing.compile(schema)
      : validators.strict.compile(httpPart === "body" ? (closeObjects(schema) as object) : schema),
  );
  refuseBodiesWithoutSchema(app);
  // Response schemas document the API; answers are plain JSON.stringify so a schema can never drop or break a field.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.removeAllContentTypeParsers();
  // Every body is read as JSON whatever its Content-Type; an empty body is "no body".
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error("invalid JSON"), { statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON_BODY" }), undefined);
    }
  });
  installErrorHandling(app);
  await installSecurityHeaders(app);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "Hookline API", version: HOOKLINE_VERSION, description: "Project webhooks: manage endpoints, publish events, inspect deliveries." },
      servers: [{ url: ctx.config.publicUrl }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas (app.addSchema) become components.schemas entries named by their $id.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
  });
  app.addSchema(ErrorSchema);

  const who = identify(creds, ctx.now);
  const limit = await rateLimitHook(app, ctx.config.rateLimit, who);
  app.decorate("ctx", ctx).decorate("creds", creds).decorate("metrics", metrics);
  app.decorate("guard", (access: Access) => [...(limit ? [limit] : []), authorize(who, access)]);
  for (const routes of [healthRoutes, projectRoutes, eventTypeRoutes, eventRoutes, webhookRoutes, logRoutes, notificationRoutes, sessionRoutes]) {
    await app.register(routes);
  }
  // The routes' document, plus the webhooks receivers get: one per event type of the catalog now.
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => ({ ...app.swagger(), webhooks: webhooksDoc(await eventTypes.listEventTypes(ctx)) }));
  if (opts.ui !== false) await installUi(app, notFound, ctx.config.frameAncestors);
  else app.setNotFoundHandler(notFound);
  return app;
}
