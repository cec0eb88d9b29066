/** `hookline serve` (API + UI + worker) and `hookline worker` (delivery only). */
import { parseArgs } from "node:util";
import { Runtime } from "../runtime.js";
import { runDemo } from "./demo.js";

function onShutdown(runtime: Runtime): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: stop now (leases expire and other workers retry the attempts).
        process.exit(130);
      }
      stopping = true;
      runtime.ctx.log.info({ signal }, "shutting down: finishing in-flight attempts");
      runtime.close().then(resolve, (err) => {
        runtime.ctx.log.error({ err }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      "database-url": { type: "string" },
      "no-worker": { type: "boolean" },
      demo: { type: "boolean" },
      concurrency: { type: "string" },
    },
    strict: true,
  });
  const runtime = await Runtime.start({
    config: {
      port: values.port,
      databaseUrl: values["database-url"],
      worker: values["no-worker"] ? false : undefined,
      demo: values.demo ? true : undefined,
      concurrency: values.concurrency,
      // The demo prints its listener's deliveries to the terminal; request logs would bury them.
      logLevel: values.demo && !process.env.LOG_LEVEL ? "warn" : undefined,
    },
  });
  const { config, creds } = runtime;
  const address = await runtime.listen(config.port);
  if (config.worker) runtime.startWorker();
  runtime.ctx.log.info({ address, dialect: config.dialect, worker: config.worker }, "hookline is listening");
  const banner = [`Hookline is running at ${config.publicUrl} (API: ${config.publicUrl}/api/v1, OpenAPI: ${config.publicUrl}/api/openapi.json)`];
  if (creds.generatedAdminToken) {
    const where = config.dataDir === null ? "its hash stored in the database for every node" : `stored in ${config.dataDir}/admin-token`;
    banner.push(`Admin token (generated, ${where}; shown once): ${creds.adminToken}`);
  }
  const demo = config.demo ? await runDemo(runtime) : null;
  if (demo) banner.push(...demo.lines);
  process.stderr.write("\n" + banner.join("\n") + "\n\n");
  const stopped = onShutdown(runtime);
  await demo?.publishSamples();
  await stopped;
  await demo?.close();
  return 0;
}

export async function workerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { "database-url": { type: "string" }, concurrency: { type: "string" }, "metrics-port": { type: "string" } },
    strict: true,
  });
  const runtime = await Runtime.start({
    config: { databaseUrl: values["database-url"], concurrency: values.concurrency, metricsPort: values["metrics-port"] },
  });
  const { metricsPort } = runtime.config;
  if (metricsPort !== undefined) {
    const port = await runtime.serveMetrics(metricsPort);
    runtime.ctx.log.info({ port, paths: ["/metrics", "/healthz", "/readyz"] }, "metrics server listening");
  }
  if (runtime.creds.generatedAdminToken) {
    // A worker that is the first node on a new database generated the cluster's admin token.
    process.stderr.write(`\nAdmin token (generated, its hash stored in the database for every node; shown once): ${runtime.creds.adminToken}\n\n`);
  }
  runtime.startWorker();
  runtime.ctx.log.info({ dialect: runtime.config.dialect, concurrency: runtime.config.concurrency }, "hookline worker started");
  await onShutdown(runtime);
  return 0;
}
