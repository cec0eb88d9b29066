import { Readable } from "node:stream";
import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import {
  DeliveryIdSchema,
  LogEntrySchema,
  LogFilterQuery,
  LogPageSchema,
  LogParams,
  LogQuery,
  StatsQuery,
  StatsSchema,
  WebhookParams,
  errorResponses,
} from "../schemas.js";
import * as logs from "../../services/logs.js";
import { redeliver } from "../../services/publish.js";
import { findWebhookRow } from "../../services/webhooks.js";

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
    `${base}/logs/export`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        description:
          "The filtered log as NDJSON (`application/x-ndjson`): one log entry per line, with request and response, newest first. Streamed: any size.",
        params: WebhookParams,
        querystring: LogFilterQuery,
        // NDJSON on success; errors are the usual JSON body.
        response: {
          200: {
            description: "One JSON log entry (with request and response) per line",
            content: { "application/x-ndjson": { schema: T.String() } },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      // Everything that can be refused is checked before the first byte goes out.
      const hook = await findWebhookRow(ctx, req.params.project_id, req.params.id);
      const filter = logs.parseLogFilter(req.query);
      reply.header("content-type", "application/x-ndjson; charset=utf-8");
      reply.header("content-disposition", `attachment; filename="${hook.id}-log.ndjson"`);
      reply.header("cache-control", "no-store");
      // One page (a string of up to 500 entries) buffered ahead of the socket, no more.
      const lines = Readable.from(logs.exportLogLines(ctx, hook.id, filter), { objectMode: true, highWaterMark: 1 });
      return reply.send(lines as unknown as string); // the 200's text, streamed
    },
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
