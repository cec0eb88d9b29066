import { Type as T } from "@sinclair/typebox";
import type { RouteDeps } from "../app.js";
import { ErrorSchema, EventDetailSchema, ProjectParams, PublishBody, errorResponses } from "../schemas.js";
import { getEvent } from "../../services/event-lookup.js";
import { publish, type PublishInput } from "../../services/publish.js";

export function eventRoutes({ app, ctx, guard }: RouteDeps): void {
  app.post<{ Params: { project_id: string }; Body: PublishInput }>(
    "/api/v1/projects/:project_id/events",
    {
      onRequest: guard("admin"),
      schema: {
        tags: ["events"],
        description: "Publish an event. `source: \"import\"` is accepted and delivers nothing. An `Idempotency-Key` header makes retries of this call safe for 24 h.",
        params: ProjectParams,
        headers: T.Object({ "idempotency-key": T.Optional(T.String()) }),
        body: PublishBody,
        response: {
          202: T.Object({ id: T.Union([T.String(), T.Null()]), deliveries: T.Integer(), skipped: T.Optional(T.Literal("import")) }),
          413: ErrorSchema,
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const key = req.headers["idempotency-key"];
      // A W3C traceparent makes the publish span (tracing on) a child of the caller's trace.
      const parent = req.headers.traceparent;
      const result = await publish(ctx, req.params.project_id, req.body, typeof key === "string" ? key : undefined, typeof parent === "string" ? parent : undefined);
      return reply.status(202).send(result);
    },
  );
  app.get<{ Params: { project_id: string; event_id: string } }>(
    "/api/v1/projects/:project_id/events/:event_id",
    {
      onRequest: guard("project"),
      schema: {
        tags: ["events"],
        description: "A stored event (kept for the log retention period) and every delivery made of it: where did this event go?",
        params: T.Object({ project_id: T.String(), event_id: T.String() }),
        response: { 200: EventDetailSchema, ...errorResponses },
      },
    },
    async (req) => getEvent(ctx, req.params.project_id, req.params.event_id),
  );
}
