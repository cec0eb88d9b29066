import { Type as T } from "@sinclair/typebox";
import type { RouteDeps } from "../app.js";
import { EventTypeBody, EventTypeSchema, errorResponses } from "../schemas.js";
import * as eventTypes from "../../services/event-types.js";

export function eventTypeRoutes({ app, ctx, guard }: RouteDeps): void {
  const tags = ["event types"];
  app.get(
    "/api/v1/event-types",
    { onRequest: guard("any"), schema: { tags, response: { 200: T.Object({ data: T.Array(EventTypeSchema) }), ...errorResponses } } },
    async () => ({ data: await eventTypes.listEventTypes(ctx) }),
  );
  app.put<{ Params: { name: string }; Body: { description?: unknown; example?: unknown; schema?: unknown } }>(
    "/api/v1/event-types/:name",
    { onRequest: guard("admin"), schema: { tags, params: T.Object({ name: T.String() }), body: EventTypeBody, response: { 200: EventTypeSchema, ...errorResponses } } },
    async (req) => eventTypes.putEventType(ctx, req.params.name, req.body),
  );
}
