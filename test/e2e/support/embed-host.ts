/**
 * Host apps for the embedding tests: examples/embed-host/server.js (the example users run), started
 * as a child process on its own port, so its pages are another origin than Hookline's; and a bare
 * page server for a foreign origin's scripts.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import { ADMIN_TOKEN, freePort } from "./server.js";

const EXAMPLE = resolve(import.meta.dirname, "../../../examples/embed-host/server.js");

export interface HostApp {
  url: string;
  stop(): Promise<void>;
}

export async function startExampleHost(opts: { hookline: string; project: string; port?: number; ttlSeconds?: number }): Promise<HostApp> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [EXAMPLE], {
    env: {
      ...process.env,
      HOOKLINE_URL: opts.hookline,
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      PROJECT: opts.project,
      PORT: String(port),
      SESSION_TTL: String(opts.ttlSeconds ?? 600),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 15_000;
  while (!out.includes("Example host app: ")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the example host did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** Serves one HTML page at every path, from 127.0.0.1 on a free port. */
export async function startPageServer(html: string): Promise<HostApp> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
