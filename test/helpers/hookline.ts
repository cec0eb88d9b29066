/**
 * Starts a real Hookline (Runtime: API on an ephemeral port, optionally the worker) on a fresh test
 * database, and gives tests a small typed HTTP client for it. Nothing is mocked.
 */
import type { LookupFunction } from "node:net";
import pino, { type Logger } from "pino";
import { Runtime } from "../../src/runtime.js";
import { createTestDatabase, databaseEnv, type TestDatabase, type TestDialect } from "./databases.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestHookline {
  runtime: Runtime;
  db: TestDatabase;
  baseUrl: string;
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string | null; headers?: Record<string, string>; raw?: string },
  ): Promise<ApiResponse<T>>;
  /** PUT a project (admin) and return it. */
  project(id: string, name?: string, emails?: string[]): Promise<any>;
  close(): Promise<void>;
}

export interface StartOptions {
  dialect: TestDialect;
  /** Extra environment (HOOKLINE_*), on top of test defaults. */
  env?: Record<string, string>;
  worker?: boolean;
  ca?: string | Buffer | Array<string | Buffer>;
  lookup?: LookupFunction;
  now?: () => number;
  /** Reuse an existing database (restart tests). */
  database?: TestDatabase;
  /** How often the worker makes a full pass over the queue (default 100 ms). */
  pollIntervalMs?: number;
  /** Where Hookline logs (default: pino at TEST_LOG_LEVEL, silent). */
  logger?: Logger;
}

/** An answer as tests read it: the status, the body parsed as JSON (or the text when it is not), the headers. */
export async function readApiResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed as any, headers: res.headers };
}

export async function startHookline(opts: StartOptions): Promise<TestHookline> {
  const db = opts.database ?? (await createTestDatabase(opts.dialect, { migrated: true }));
  const env: NodeJS.ProcessEnv = {
    ...databaseEnv(db),
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789",
    HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
    HOOKLINE_RETRY_DELAYS: "0.1,0.2,0.3",
    HOOKLINE_TIMEOUT_MS: "2000",
    ...opts.env,
  };
  let runtime: Runtime;
  try {
    runtime = await Runtime.start({
      env,
      logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
      ca: opts.ca,
      lookup: opts.lookup,
      now: opts.now,
      pollIntervalMs: opts.pollIntervalMs ?? 100,
    });
  } catch (err) {
    // A start that fails (e.g. a bad setting under test) must not leak the database it was given.
    if (!opts.database) await db.drop();
    throw err;
  }
  const address = await runtime.listen(0, "127.0.0.1");
  if (opts.worker) runtime.startWorker();
  const api: TestHookline["api"] = async (method, path, body, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = o.raw;
    if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
    return readApiResponse(await fetch(address + path, { method, headers, body: payload }));
  };
  return {
    runtime,
    db,
    baseUrl: address,
    api,
    async project(id, name = id, emails) {
      const res = await api("PUT", `/api/v1/projects/${id}`, { name, ...(emails ? { notification_emails: emails } : {}) });
      if (res.status !== 201 && res.status !== 200) throw new Error(`project ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async close() {
      await runtime.close();
      if (!opts.database) await db.drop();
    },
  };
}
