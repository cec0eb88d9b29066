import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import { EventTypeBody, EventTypeSchema, errorResponses } from "../schemas.js";
import * as eventTypes from "../../services/event-types.js";

export const eventTypeRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  const tags = ["event types"];
  app.get(
    "/api/v1/event-types",
    { onRequest: guard("any"), schema: { tags, response: { 200: T.Object({ data: T.Array(EventTypeSchema) }), ...errorResponses } } },
    async () => ({ data: await eventTypes.listEventTypes(ctx) }),
  );
  app.put(
    "/api/v1/event-types/:name",
    {
      onRequest: guard("admin"),
      schema: { tags, params: T.Object({ name: T.String() }), body: EventTypeBody, response: { 200: EventTypeSchema, ...errorResponses } },
    },
    async (req) => eventTypes.putEventType(ctx, req.params.name, req.body),
  );
};
