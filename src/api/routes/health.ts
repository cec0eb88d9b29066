import { sql } from "kysely";
import type { RoutePlugin } from "../decorators.js";

export const healthRoutes: RoutePlugin = async (app) => {
  const { ctx, metrics } = app;
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true } }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.store.db);
      return { status: "ready" };
    } catch {
      return reply.status(503).send({ status: "unavailable", error: { code: "unavailable", message: "The database is not reachable." } });
    }
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
