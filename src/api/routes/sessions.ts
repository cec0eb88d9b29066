import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import { PortalLinkSchema, PortalSessionBody, ProjectParams, errorResponses } from "../schemas.js";
import { createPortalSession } from "../../services/portal-sessions.js";

export const sessionRoutes: RoutePlugin = async (app) => {
  const { ctx, creds, guard } = app;
  app.post(
    "/api/v1/projects/:project_id/portal-sessions",
    {
      onRequest: guard("admin"),
      // No body at all means every default (a bare POST is the common call).
      preValidation: async (req) => {
        if (req.body === undefined) req.body = {};
      },
      schema: {
        tags: ["portal"],
        description:
          "Mints a token (and UI link) that sees only this project. `role` defaults to admin, `ttl_seconds` to 3600. `embed` and `theme` shape the link for a host app's iframe.",
        params: ProjectParams,
        body: PortalSessionBody,
        response: { 200: PortalLinkSchema, ...errorResponses },
      },
    },
    async (req) =>
      createPortalSession(ctx, creds.secretKey, req.params.project_id, {
        role: req.body.role,
        ttlSeconds: req.body.ttl_seconds,
        embed: req.body.embed,
        theme: req.body.theme,
      }),
  );
  app.get(
    "/api/v1/me",
    {
      onRequest: guard("any"),
      schema: {
        tags: ["portal"],
        description: "Who the bearer token is: the admin, or a portal token with its project, role and expiry.",
        response: {
          200: T.Object({ kind: T.String(), project_id: T.Optional(T.String()), role: T.Optional(T.String()), expires_at: T.Optional(T.String()) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const p = req.principal!;
      if (p.kind === "admin") return { kind: "admin" };
      return { kind: "portal", project_id: p.projectId, role: p.role, expires_at: new Date(p.expiresAt).toISOString() };
    },
  );
};
