import { Readable } from "node:stream";
import { Type as T } from "@sinclair/typebox";
import type { RouteDeps } from "../app.js";
import { LogEntrySchema, LogEntrySummarySchema, LogParams, StatsSchema, WebhookParams, errorResponses } from "../schemas.js";
import * as logs from "../../services/logs.js";
import { redeliver } from "../../services/publish.js";
import { findWebhookRow } from "../../services/webhooks.js";

type W = { project_id: string; id: string };

/** The log's filters (list and export); they combine with AND. */
const FilterQuery = {
  success: T.Optional(T.String({ description: "true or false" })),
  event: T.Optional(T.String({ description: "an event name" })),
  from: T.Optional(T.String({ description: "ISO-8601 time: entries at or after it" })),
  to: T.Optional(T.String({ description: "ISO-8601 time: entries at or before it" })),
  status_code: T.Optional(T.String({ description: "a status code (e.g. 404) or a class: 2xx, 3xx, 4xx, 5xx" })),
  event_id: T.Optional(T.String({ description: "evt_…: the attempts of that event" })),
  delivery_id: T.Optional(T.String({ description: "dlv_…: the attempts of that delivery" })),
  trigger: T.Optional(T.String({ description: "event, test, redeliver or recover" })),
};
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
          ...FilterQuery,
        }),
        response: { 200: T.Object({ data: T.Array(LogEntrySummarySchema), next_cursor: T.Union([T.String(), T.Null()]) }), ...errorResponses },
      },
    },
    async (req) => logs.listLogs(ctx, req.params.project_id, req.params.id, req.query),
  );
  app.get<{ Params: W; Querystring: logs.LogFilterQuery }>(
    `${base}/logs/export`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        description: "The filtered log as NDJSON (`application/x-ndjson`): one log entry per line, with request and response, newest first. Streamed: any size.",
        params: WebhookParams,
        querystring: T.Object(FilterQuery),
        produces: ["application/x-ndjson"],
        response: { 200: T.String({ description: "one JSON log entry (with request and response) per line" }), ...errorResponses },
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
      return reply.send(Readable.from(logs.exportLogLines(ctx, hook.id, filter), { objectMode: true, highWaterMark: 1 }));
    },
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
