/**
 * Plumbing for the benchmark: the receiver child, fresh databases, Hookline child processes
 * (`node bin/hookline.js serve|worker`), an HTTP client for the API, and small statistics helpers.
 */
import { fork, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { Pool } from "undici";
import { ipcCaller } from "./ipc.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The `hookline` command the harness runs (BENCH_HOOKLINE_BIN: another build, e.g. a baseline). */
const BIN = process.env.BENCH_HOOKLINE_BIN ?? path.join(here, "..", "bin", "hookline.js");
export const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
export const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const log = (...args) => process.stderr.write(args.join(" ") + "\n");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nowNs = () => process.hrtime.bigint();
export const seconds = (fromNs, toNs) => Number(BigInt(toNs) - BigInt(fromNs)) / 1e9;

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))];
}

export const round = (n, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

/** The receiver process, with a promise-based IPC wrapper. */
export async function startReceiver() {
  const child = fork(path.join(here, "receiver.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const call = ipcCaller(child, "receiver");
  const info = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`receiver exited (${code})`)));
    child.on("message", (m) => m.type === "ready" && resolve(m));
  });
  return {
    ...info,
    /** One origin per webhook (index i uses origins[i % origins.length]). */
    origins: info.ports.map((p) => `https://127.0.0.1:${p}`),
    hangUrl: `https://127.0.0.1:${info.hangPorts[0]}`,
    /** Hanging endpoints, each its own origin (as separate servers would be). */
    hangUrls: info.hangPorts.map((p) => `https://127.0.0.1:${p}`),
    ca: fs.readFileSync(info.certFile, "utf8"),
    reset: () => call({ cmd: "reset" }),
    /** Resolves with the receiver's hrtime (ns) of the n-th unique delivery. */
    waitFor: async (n, timeoutMs) => BigInt((await call({ cmd: "waitFor", n }, timeoutMs)).at_ns),
    stats: (latencies = false) => call({ cmd: "stats", latencies }),
    close: () => {
      try {
        child.send({ cmd: "exit" });
      } catch {
        /* already gone */
      }
    },
  };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh database: a SQLite file in a temp folder, or a new PostgreSQL database. */
export async function createDatabase(dialect, workDir) {
  if (dialect === "sqlite") {
    const file = path.join(workDir, "hookline.db");
    return {
      url: file,
      async count(table) {
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          return db.prepare(`select count(*) as n from ${table}`).get().n;
        } finally {
          db.close();
        }
      },
      async drop() {},
    };
  }
  const name = `hookline_bench_${crypto.randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  // BENCH_PG_LOG=1: every statement; a larger number: statements that took at least that many ms.
  const logMs = Math.max(0, Math.floor(Number(process.env.BENCH_PG_LOG))) || 0;
  if (process.env.BENCH_PG_LOG) await admin.query(`alter database ${name} set log_min_duration_statement = ${logMs === 1 ? 0 : logMs}`);
  // BENCH_PG_EXPLAIN=<ms>: the plan (with actual times) of every statement that took at least that long (auto_explain).
  if (process.env.BENCH_PG_EXPLAIN) {
    await admin.query(`alter database ${name} set session_preload_libraries = 'auto_explain'`);
    await admin.query(`alter database ${name} set auto_explain.log_min_duration = ${Number(process.env.BENCH_PG_EXPLAIN)}`);
    await admin.query(`alter database ${name} set auto_explain.log_analyze = on`);
    await admin.query(`alter database ${name} set auto_explain.log_timing = off`);
  }
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async count(table) {
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        return Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n);
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function postgresReachable() {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Peak and current resident set size of a process, in MiB (Linux /proc). */
export function rssMb(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { peak: kb("VmHWM") / 1024, now: kb("VmRSS") / 1024 };
  } catch {
    return { peak: NaN, now: NaN };
  }
}

/** Extra node flags for Hookline processes, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

/**
 * CPU seconds (user + system) a process has used so far, all its threads (Linux /proc; clock ticks
 * of 10 ms). `mainThread`: only its main thread's (the one that claims, records and serves the API;
 * the sender threads make the attempts), the share that bounds a worker's throughput.
 */
export function cpuSeconds(pid, { mainThread = false } = {}) {
  try {
    return statCpuSeconds(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
  } catch {
    return NaN;
  }
}

/** utime + stime of a /proc stat file (a process's or a thread's), in seconds. */
function statCpuSeconds(file) {
  const fields = fs.readFileSync(file, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds used so far by the threads of process `pid` whose OS name (/proc/PID/task/TID/comm)
 * matches `name` (a RegExp), e.g. Hookline's sender threads, `hookline-send-N`. A thread that has
 * exited takes its share with it.
 */
export function threadsCpuSeconds(pid, name) {
  let sum = 0;
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const tid of tasks) {
    try {
      if (name.test(fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim())) sum += statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** CPU seconds of each thread of process `pid` so far: `TID name` → seconds (BENCH_THREADS, a diagnostic). */
export function perThreadCpuSeconds(pid) {
  const out = {};
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        out[`${tid} ${name}`] = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // process gone
  }
  return out;
}

/** CPU seconds used so far by every process on this machine whose name (comm) is `name`. */
export function processCpuSeconds(name) {
  let sum = 0;
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.includes(` (${name}) `)) sum += cpuSeconds(pid);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * CPU seconds used so far by the PostgreSQL server's processes on this machine (every process named
 * postgres; a backend or autovacuum worker that exits meanwhile takes its share with it, so this is
 * a lower bound). Where the time of a PostgreSQL delivery goes that Hookline's own CPU does not show.
 */
export const postgresCpuSeconds = () => processCpuSeconds("postgres");

/**
 * Starts `node bin/hookline.js <args>` as a child process. Its output goes to a log file in
 * `workDir` (stdout of the harness is reserved for the JSON result).
 */
export function spawnHookline(args, { workDir, databaseUrl, certFile, env = {}, nodeArgs = NODE_ARGS }) {
  const logFile = path.join(workDir, `hookline-${args[0]}-${crypto.randomBytes(3).toString("hex")}.log`);
  const out = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    cwd: workDir,
    stdio: ["ignore", out, out],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_SECRET_KEY: "bench-secret-key-0123456789abcdef0123456789",
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
      NODE_EXTRA_CA_CERTS: certFile,
      LOG_LEVEL: "warn",
      ...env,
    },
  });
  fs.closeSync(out);
  let exited = null;
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve((exited = { code, signal }))));
  return {
    pid: child.pid,
    logFile,
    get exited() {
      return exited;
    },
    tail: () => fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n"),
    /** SIGTERM (graceful: drains in-flight attempts), SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
      if (exited) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
      return exited;
    },
  };
}

/** Polls /readyz until the API answers. */
export async function waitReady(baseUrl, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`hookline exited during start (${JSON.stringify(proc.exited)}):\n${proc.tail()}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(50);
  }
  throw new Error(`hookline did not become ready within ${timeoutMs} ms:\n${proc.tail()}`);
}

/** A small JSON client for the Hookline API over a keep-alive pool. */
export function apiClient(baseUrl, connections = 32) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  return {
    async call(method, p, body) {
      const res = await pool.request({ method, path: p, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : null };
    },
    close: () => pool.close(),
  };
}

export function makeWorkDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hookline-bench-${label}-`));
}
