/**
 * Hookline nodes as separate processes sharing one database, for scale-out tests: API nodes
 * (`hookline serve --no-worker`) and delivery nodes (`hookline worker`), run from dist/ (built by
 * test/global-setup.ts). Each node logs JSON to a pipe; the API node's port is read from its
 * "hookline is listening" line.
 *
 *   const env = nodeEnv(db.url, rx.ca);
 *   const [api, worker] = await Promise.all([startNode("api", env), startNode("worker", env)]);
 *   await api.call("POST", "/api/v1/projects/acme/events", { event, subject });
 *   await worker.kill();             // SIGKILL; stop() is SIGTERM and a graceful drain
 */
import { ADMIN_TOKEN, readApiResponse, type ApiResponse } from "./hookline.js";
import { caFile, runCli, type CliProcess } from "./process.js";

export type NodeKind = "api" | "worker";

export interface HooklineNode {
  kind: NodeKind;
  proc: CliProcess;
  pid: number;
  /** API nodes: `http://127.0.0.1:PORT`. */
  url: string;
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | string>;
  /** SIGKILL (a crash), then waits for the exit. */
  kill(): Promise<number | string>;
  readonly alive: boolean;
}

/** The environment every node of one test cluster shares (admin token and secret key included). */
export function nodeEnv(databaseUrl: string, receiverCa: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789",
    HOOKLINE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
    HOOKLINE_RETRY_DELAYS: "0.2,0.5,1",
    HOOKLINE_TIMEOUT_MS: "2000",
    NODE_EXTRA_CA_CERTS: caFile(receiverCa),
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** `cwd`: the node's working directory (default: a new empty one). */
export async function startNode(kind: NodeKind, env: Record<string, string>, args: string[] = [], cwd?: string): Promise<HooklineNode> {
  const argv = kind === "api" ? ["serve", "--no-worker", "--port", "0", ...args] : ["worker", ...args];
  const proc = runCli(argv, env, { cwd });
  let url = "";
  if (kind === "api") {
    const m = await proc.waitForOutput(/"address":"https?:\/\/[^"]*:(\d+)"[^\n]*"msg":"hookline is listening"/, 30_000);
    url = `http://127.0.0.1:${m[1]}`;
  } else {
    await proc.waitForOutput(/"msg":"hookline worker started"/, 30_000);
  }
  const call: HooklineNode["call"] = async (method, path, body, headers = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers };
    if (body !== undefined) h["content-type"] = "application/json";
    return readApiResponse(await fetch(url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }));
  };
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(sig);
    return proc.exited;
  };
  return {
    kind,
    proc,
    pid: proc.child.pid!,
    url,
    call,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    get alive() {
      return proc.child.exitCode === null && proc.child.signalCode === null;
    },
  };
}

/** Starts `apis` API nodes and `workers` delivery nodes at once (start-up migrations take the advisory lock). */
export async function startNodes(
  env: Record<string, string>,
  counts: { apis: number; workers: number },
): Promise<{ apis: HooklineNode[]; workers: HooklineNode[] }> {
  const nodes = await Promise.all([
    ...Array.from({ length: counts.apis }, () => startNode("api", env)),
    ...Array.from({ length: counts.workers }, () => startNode("worker", env)),
  ]);
  return { apis: nodes.slice(0, counts.apis), workers: nodes.slice(counts.apis) };
}

/** Stops every node still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function stopNodes(nodes: HooklineNode[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (!n.alive) return;
      const timer = setTimeout(() => void n.kill(), graceMs);
      await n.stop();
      clearTimeout(timer);
    }),
  );
}

/** The last lines each node logged at warn or above (for a failed test's report). */
export function nodeWarnings(nodes: HooklineNode[], lines = 20): string {
  return nodes
    .map((n) => {
      const out = n.proc
        .output()
        .split("\n")
        .filter((l) => !l.startsWith("{") || /"level":(40|50|60)/.test(l));
      return `--- ${n.kind} pid ${n.pid} (${n.alive ? "running" : "exited"}):\n${out.slice(-lines).join("\n")}`;
    })
    .join("\n");
}
