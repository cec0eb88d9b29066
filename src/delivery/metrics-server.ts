/**
 * A worker node's own HTTP endpoint (`hookline worker --metrics-port`): `/metrics` (the same
 * Prometheus series as the API's), `/healthz` (process up) and `/readyz` (database reachable).
 * No auth, like the API's routes of the same names; bind it where only the scraper reaches.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import type { Context } from "../services/context.js";
import type { Metrics } from "./metrics.js";

export class MetricsServer {
  private readonly server: http.Server;

  constructor(
    private readonly ctx: Context,
    private readonly metrics: Metrics,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req.method ?? "GET", (req.url ?? "/").split("?")[0]).then(
        ({ status, type, body }) => res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body),
        (err: unknown) => {
          this.ctx.log.error({ err }, "metrics endpoint failed");
          res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ status: "error" }));
        },
      );
    });
  }

  private async handle(method: string, path: string): Promise<{ status: number; type: string; body: string }> {
    const json = (status: number, value: unknown) => ({ status, type: "application/json; charset=utf-8", body: JSON.stringify(value) });
    if (method !== "GET" && method !== "HEAD") return json(405, { status: "method not allowed" });
    if (path === "/healthz") return json(200, { status: "ok" });
    if (path === "/readyz") {
      try {
        await sql`select 1`.execute(this.ctx.store.db);
        return json(200, { status: "ready" });
      } catch {
        return json(503, { status: "unavailable", error: { code: "unavailable", message: "The database is not reachable." } });
      }
    }
    if (path === "/metrics") return { status: 200, type: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
    return json(404, { status: "not found", paths: ["/metrics", "/healthz", "/readyz"] });
  }

  /** Listens on `port` (0: any free one); answers the bound port. */
  listen(port: number, host = "0.0.0.0"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
