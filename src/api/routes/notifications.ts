import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import { NotificationSchema, ProjectParams, errorResponses } from "../schemas.js";
import * as notifications from "../../services/notifications.js";

export const notificationRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  const tags = ["notifications"];
  app.get(
    "/api/v1/projects/:project_id/notifications",
    {
      onRequest: guard("project"),
      schema: { tags, params: ProjectParams, response: { 200: T.Object({ data: T.Array(NotificationSchema) }), ...errorResponses } },
    },
    async (req) => ({ data: await notifications.listNotifications(ctx, req.params.project_id) }),
  );
  app.post(
    "/api/v1/projects/:project_id/notifications/:id/read",
    {
      onRequest: guard("project"),
      schema: { tags, params: T.Object({ project_id: T.String(), id: T.String() }), response: { 200: NotificationSchema, ...errorResponses } },
    },
    async (req) => notifications.readNotification(ctx, req.params.project_id, req.params.id),
  );
};
