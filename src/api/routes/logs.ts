import { Type as T } from "@sinclair/typebox";
import type { RouteDeps } from "../app.js";
import { LogEntrySchema, LogEntrySummarySchema, LogParams, StatsSchema, WebhookParams, errorResponses } from "../schemas.js";
import * as logs from "../../services/logs.js";
import { redeliver } from "../../services/publish.js";

type W = { project_id: string; id: string };
type L = W & { log_id: string };

export function logRoutes({ app, ctx, guard }: RouteDeps): void {
  const tags = ["delivery log"];
  const base = "/api/v1/projects/:project_id/webhooks/:id";
  app.get<{ Params: W; Querystring: logs.LogListQuery }>(
    `${base}/logs`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        params: WebhookParams,
        querystring: T.Object({
          limit: T.Optional(T.String({ description: "1..100, default 20" })),
          cursor: T.Optional(T.String()),
          success: T.Optional(T.String({ description: "true or false" })),
          event: T.Optional(T.String()),
        }),
        response: { 200: T.Object({ data: T.Array(LogEntrySummarySchema), next_cursor: T.Union([T.String(), T.Null()]) }), ...errorResponses },
      },
    },
    async (req) => logs.listLogs(ctx, req.params.project_id, req.params.id, req.query),
  );
  app.get<{ Params: L }>(
    `${base}/logs/:log_id`,
    { onRequest: guard("project"), schema: { tags, params: LogParams, response: { 200: LogEntrySchema, ...errorResponses } } },
    async (req) => logs.getLog(ctx, req.params.project_id, req.params.id, req.params.log_id),
  );
  app.post<{ Params: L }>(
    `${base}/logs/:log_id/redeliver`,
    { onRequest: guard("project-admin"), schema: { tags, params: LogParams, response: { 202: T.Object({ delivery_id: T.String() }), ...errorResponses } } },
    async (req, reply) => reply.status(202).send(await redeliver(ctx, req.params.project_id, req.params.id, req.params.log_id)),
  );
  app.get<{ Params: W; Querystring: { hours?: string } }>(
    `${base}/stats`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        description: "Attempts per hour (succeeded/failed) and latency percentiles for the last `hours` hours (default 24), oldest first.",
        params: WebhookParams,
        querystring: T.Object({ hours: T.Optional(T.String()) }),
        response: { 200: StatsSchema, ...errorResponses },
      },
    },
    async (req) => logs.deliveryStats(ctx, req.params.project_id, req.params.id, req.query.hours),
  );
}
