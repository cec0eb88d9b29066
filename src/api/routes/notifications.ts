import { Type as T } from "@sinclair/typebox";
import type { RouteDeps } from "../app.js";
import { NotificationSchema, ProjectParams, errorResponses } from "../schemas.js";
import * as notifications from "../../services/notifications.js";

export function notificationRoutes({ app, ctx, guard }: RouteDeps): void {
  const tags = ["notifications"];
  app.get<{ Params: { project_id: string } }>(
    "/api/v1/projects/:project_id/notifications",
    { onRequest: guard("project"), schema: { tags, params: ProjectParams, response: { 200: T.Object({ data: T.Array(NotificationSchema) }), ...errorResponses } } },
    async (req) => ({ data: await notifications.listNotifications(ctx, req.params.project_id) }),
  );
  app.post<{ Params: { project_id: string; id: string } }>(
    "/api/v1/projects/:project_id/notifications/:id/read",
    { onRequest: guard("project"), schema: { tags, params: T.Object({ project_id: T.String(), id: T.String() }), response: { 200: NotificationSchema, ...errorResponses } } },
    async (req) => notifications.readNotification(ctx, req.params.project_id, req.params.id),
  );
}
