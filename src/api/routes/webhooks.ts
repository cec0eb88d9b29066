import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import {
  DeliveryIdSchema,
  ErrorRef,
  FilterTestBody,
  FilterTestResult,
  IncludeQuery,
  ProjectParams,
  SecretRotateBody,
  SecretRotation,
  SigningKey,
  WebhookCreateBody,
  WebhookListSchema,
  WebhookParams,
  WebhookPatchBody,
  WebhookSchema,
  errorResponses,
} from "../schemas.js";
import { tryFilter } from "../../services/filter-test.js";
import { testWebhook } from "../../services/publish.js";
import { recoverWebhook } from "../../services/recover.js";
import * as keys from "../../services/webhook-keys.js";
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
      schema: { tags, params: ProjectParams, body: WebhookCreateBody, response: { 201: WebhookSchema, 409: ErrorRef, ...errorResponses } },
    },
    async (req, reply) => reply.status(201).send(await webhooks.createWebhook(ctx, req.params.project_id, req.body)),
  );
  app.post(
    `${base}/filter-test`,
    {
      onRequest: guard("project"),
      schema: {
        tags,
        description:
          "Try a payload filter: whether it matches the delivery body of the event type's example (the UI's `Try filter`). A bad filter is 422 naming its path, as on save.",
        params: ProjectParams,
        body: FilterTestBody,
        response: { 200: FilterTestResult, ...errorResponses },
      },
    },
    async (req) => tryFilter(ctx, req.params.project_id, req.body),
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
      schema: { tags, params: WebhookParams, body: WebhookPatchBody, response: { 200: WebhookSchema, 409: ErrorRef, ...errorResponses } },
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
  app.post(
    `${base}/:id/secret/rotate`,
    {
      onRequest: guard("project-admin"),
      // The body is optional: an empty one means "generate a secret, default overlap".
      preValidation: async (req) => {
        if (req.body === undefined) req.body = {};
      },
      schema: {
        tags,
        description:
          "Makes a new secret current (generated when none is given). Until `previous_secret_expires_at` every attempt also carries a `v1,` signature made with the old secret, after the new one. A webhook without a secret just gets one (no overlap).",
        params: WebhookParams,
        body: SecretRotateBody,
        response: { 200: SecretRotation, ...errorResponses },
      },
    },
    async (req, reply) => {
      reply.header("cache-control", "no-store");
      return keys.rotateSecret(ctx, req.params.project_id, req.params.id, req.body);
    },
  );
  app.post(
    `${base}/:id/signing-key`,
    {
      onRequest: guard("project-admin"),
      schema: {
        tags,
        description:
          "Creates an Ed25519 signing key (replacing any earlier one): every attempt then carries a `v1a,` signature that `public_key` verifies. The private key is never returned.",
        params: WebhookParams,
        response: { 200: SigningKey, ...errorResponses },
      },
    },
    async (req) => keys.createSigningKey(ctx, req.params.project_id, req.params.id),
  );
  app.delete(
    `${base}/:id/signing-key`,
    {
      onRequest: guard("project-admin"),
      schema: {
        tags,
        description: "Removes the signing key: no more `v1a,` signatures.",
        params: WebhookParams,
        response: { 204: T.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await keys.deleteSigningKey(ctx, req.params.project_id, req.params.id);
      return reply.status(204).send(null);
    },
  );
  app.post(
    `${base}/:id/recover`,
    {
      onRequest: guard("project-admin"),
      schema: {
        tags,
        description:
          "Queues one new delivery (trigger `recover`, the normal retry schedule), oldest first, for every stored event of the project in the window (not before the webhook was created) whose type the webhook subscribes to and that has neither a succeeded nor a pending delivery to it: failed, cancelled, and published while it was disabled. `since` must be within the log retention. 409 webhook_disabled when the webhook is disabled.",
        params: WebhookParams,
        body: T.Object({
          since: T.String({ format: "date-time", description: "ISO time, within the log retention" }),
          until: T.Optional(T.String({ format: "date-time", description: "ISO time, default now" })),
        }),
        response: { 202: T.Object({ deliveries: T.Integer() }), 409: ErrorRef, ...errorResponses },
      },
    },
    async (req, reply) => reply.status(202).send(await recoverWebhook(ctx, req.params.project_id, req.params.id, req.body)),
  );
};
