import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import { ErrorRef, EventDetailSchema, ProjectParams, PublishBody, PublishResultSchema, errorResponses } from "../schemas.js";
import { getEvent } from "../../services/event-lookup.js";
import { publish } from "../../services/publish.js";

export const eventRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  app.post(
    "/api/v1/projects/:project_id/events",
    {
      onRequest: guard("admin"),
      schema: {
        tags: ["events"],
        description:
          'Publish an event. `source: "import"` is accepted and delivers nothing. An `Idempotency-Key` header makes retries of this call safe for 24 h.',
        params: ProjectParams,
        headers: T.Object({ "idempotency-key": T.Optional(T.String()) }),
        body: PublishBody,
        response: { 202: PublishResultSchema, 413: ErrorRef, ...errorResponses },
      },
    },
    async (req, reply) => {
      // A W3C traceparent makes the publish span (tracing on) a child of the caller's trace.
      const parent = req.headers.traceparent;
      const result = await publish(ctx, req.params.project_id, req.body, req.headers["idempotency-key"], typeof parent === "string" ? parent : undefined);
      return reply.status(202).send(result);
    },
  );
  app.get(
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
};
