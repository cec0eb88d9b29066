import { Type as T } from "@sinclair/typebox";
import type { RoutePlugin } from "../decorators.js";
import { ProjectBody, ProjectParams, ProjectSchema, errorResponses } from "../schemas.js";
import * as projects from "../../services/projects.js";

export const projectRoutes: RoutePlugin = async (app) => {
  const { ctx, guard } = app;
  const tags = ["projects"];
  app.put(
    "/api/v1/projects/:project_id",
    {
      onRequest: guard("admin"),
      schema: { tags, params: ProjectParams, body: ProjectBody, response: { 200: ProjectSchema, 201: ProjectSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const { project, created } = await projects.putProject(ctx, req.params.project_id, req.body);
      return reply.status(created ? 201 : 200).send(project);
    },
  );
  app.get(
    "/api/v1/projects",
    { onRequest: guard("admin"), schema: { tags, response: { 200: T.Object({ data: T.Array(ProjectSchema) }), ...errorResponses } } },
    async () => ({ data: await projects.listProjects(ctx) }),
  );
  app.get(
    "/api/v1/projects/:project_id",
    { onRequest: guard("project"), schema: { tags, params: ProjectParams, response: { 200: ProjectSchema, ...errorResponses } } },
    async (req) => projects.getProject(ctx, req.params.project_id),
  );
  app.delete(
    "/api/v1/projects/:project_id",
    { onRequest: guard("admin"), schema: { tags, params: ProjectParams, response: { 204: T.Null(), ...errorResponses } } },
    async (req, reply) => {
      await projects.deleteProject(ctx, req.params.project_id);
      return reply.status(204).send(null);
    },
  );
};
