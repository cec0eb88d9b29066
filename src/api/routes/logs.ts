import type { RoutePlugin } from "../decorators.js";
import { DeliveryIdSchema, LogEntrySchema, LogPageSchema, LogParams, LogQuery, StatsQuery, StatsSchema, WebhookParams, errorResponses } from "../schemas.js";
import * as logs from "../../services/logs.js";
import { redeliver } from "../../services/publish.js";

export const logRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  const tags = ["delivery log"];
  const base = "/api/v1/projects/:project_id/webhooks/:id";
  app.get(
    `${base}/logs`,
    { onRequest: guard("project"), schema: { tags, params: WebhookParams, querystring: LogQuery, response: { 200: LogPageSchema, ...errorResponses } } },
    async (req) => logs.listLogs(ctx, req.params.project_id, req.params.id, req.query),
  );
  app.get(
    `${base}/logs/:log_id`,
    { onRequest: guard("project"), schema: { tags, params: LogParams, response: { 200: LogEntrySchema, ...errorResponses } } },
    async (req) => logs.getLog(ctx, req.params.project_id, req.params.id, req.params.log_id),
  );
  app.post(
    `${base}/logs/:log_id/redeliver`,
    { onRequest: guard("project-admin"), schema: { tags, params: LogParams, response: { 202: DeliveryIdSchema, ...errorResponses } } },
    async (req, reply) => reply.status(202).send(await redeliver(ctx, req.params.project_id, req.params.id, req.params.log_id)),
  );
  app.get(
    `${base}/stats`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        description: "Attempts per hour (succeeded/failed) and latency percentiles for the last `hours` hours (default 24), oldest first.",
        params: WebhookParams,
        querystring: StatsQuery,
        response: { 200: StatsSchema, ...errorResponses },
      },
    },
    async (req) => logs.deliveryStats(ctx, req.params.project_id, req.params.id, req.query.hours),
  );
};
