import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import {
  DeliveryIdSchema,
  ErrorSchema,
  IncludeQuery,
  ProjectParams,
  WebhookCreateBody,
  WebhookListSchema,
  WebhookParams,
  WebhookPatchBody,
  WebhookSchema,
  errorResponses,
} from "../schemas.js";
import { testWebhook } from "../../services/publish.js";
import * as webhooks from "../../services/webhooks.js";

export const webhookRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  const tags = ["webhooks"];
  const base = "/api/v1/projects/:project_id/webhooks";
  const wantsLast = (q: { include?: string }) => (q.include ?? "").split(",").includes("last_delivery");
  app.get(
    base,
    {
      onRequest: guard("project"),
      schema: { tags, params: ProjectParams, querystring: IncludeQuery, response: { 200: WebhookListSchema, ...errorResponses } },
    },
    async (req) => webhooks.listWebhooks(ctx, req.params.project_id, wantsLast(req.query)),
  );
  app.post(
    base,
    {
      onRequest: guard("project-admin"),
      schema: { tags, params: ProjectParams, body: WebhookCreateBody, response: { 201: WebhookSchema, 409: ErrorSchema, ...errorResponses } },
    },
    async (req, reply) => reply.status(201).send(await webhooks.createWebhook(ctx, req.params.project_id, req.body)),
  );
  app.get(
    `${base}/:id`,
    { onRequest: guard("project"), schema: { tags, params: WebhookParams, querystring: IncludeQuery, response: { 200: WebhookSchema, ...errorResponses } } },
    async (req) => webhooks.getWebhook(ctx, req.params.project_id, req.params.id, wantsLast(req.query)),
  );
  app.patch(
    `${base}/:id`,
    {
      onRequest: guard("project-admin"),
      schema: { tags, params: WebhookParams, body: WebhookPatchBody, response: { 200: WebhookSchema, 409: ErrorSchema, ...errorResponses } },
    },
    async (req) => webhooks.updateWebhook(ctx, req.params.project_id, req.params.id, req.body ?? {}),
  );
  app.delete(
    `${base}/:id`,
    { onRequest: guard("project-admin"), schema: { tags, params: WebhookParams, response: { 204: T.Null(), ...errorResponses } } },
    async (req, reply) => {
      await webhooks.deleteWebhook(ctx, req.params.project_id, req.params.id);
      return reply.status(204).send(null);
    },
  );
  app.get(
    `${base}/:id/secret`,
    {
      onRequest: guard("project-admin"),
      schema: { tags, params: WebhookParams, response: { 200: T.Object({ secret: T.Union([T.String(), T.Null()]) }), ...errorResponses } },
    },
    async (req, reply) => {
      reply.header("cache-control", "no-store");
      return webhooks.revealSecret(ctx, req.params.project_id, req.params.id);
    },
  );
  app.post(
    `${base}/:id/test`,
    { onRequest: guard("project-admin"), schema: { tags, params: WebhookParams, response: { 202: DeliveryIdSchema, ...errorResponses } } },
    async (req, reply) => reply.status(202).send(await testWebhook(ctx, req.params.project_id, req.params.id)),
  );
};
