/**
 * A real `hookline serve` child process on a free port and a fresh SQLite file, trusting the test
 * receiver's certificate through NODE_EXTRA_CA_CERTS, exactly as an operator would run it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";
const ROOT = resolve(import.meta.dirname, "../../..");

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
}

export interface HooklineServer {
  url: string;
  api<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<ApiAnswer<T>>;
  /** The server's own log (JSON lines), for failure messages. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export async function startServer(opts: { ca: string; env?: Record<string, string> }): Promise<HooklineServer> {
  const dir = await mkdtemp(join(tmpdir(), "hookline-e2e-"));
  const caFile = join(dir, "receiver-ca.pem");
  await writeFile(caFile, opts.ca);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "server.log");
  const out = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, "bin/hookline.js"), "serve", "--port", String(port)], {
    cwd: dir,
    env: {
      ...process.env,
      DATABASE_URL: join(dir, "hookline.db"),
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_PUBLIC_URL: url,
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
      HOOKLINE_RETRY_DELAYS: "0.2,0.2,0.2",
      NODE_EXTRA_CA_CERTS: caFile,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  let exited: number | null = null;
  child.on("exit", (code) => (exited = code ?? -1));

  const log = () => readFile(logFile, "utf8").catch(() => "");
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`hookline serve exited with ${exited} before it was healthy:\n${(await log()).slice(-4000)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`hookline serve did not answer /healthz within 30 s:\n${(await log()).slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    log,
    async api(method, path, body, token = ADMIN_TOKEN) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      if (exited === null) {
        const gone = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await gone;
        clearTimeout(timer);
      }
      out.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
