/**
 * The measured scenarios. Each starts Hookline as real child processes on a fresh database, drives
 * it through the HTTP API only, and reads arrivals from the receiver process.
 */
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { Agent } from "undici";
import {
  apiClient,
  cpuSeconds,
  log,
  perThreadCpuSeconds,
  postgresCpuSeconds,
  threadsCpuSeconds,
  createDatabase,
  freePort,
  makeWorkDir,
  nowNs,
  percentile,
  rssMb,
  seconds,
  sleep,
  spawnHookline,
  waitReady,
} from "./support.js";

export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64); // HOOKLINE_CONCURRENCY and the raw client's
export const PUBLISHERS = 32; // concurrent publishing clients
export const WEBHOOKS = 5;
export const EVENT = "test-run.completed";
/** Events per second of the latency and isolation runs: 100 x 5 webhooks = 500 deliveries/s. */
const LATENCY_EPS = Number(process.env.BENCH_LATENCY_EPS ?? 100);

/** A realistic subject (~500 bytes); `sentNs` carries the publish call's start for latency. */
export function subject(i, sentNs) {
  const s = {
    id: `run_${String(i).padStart(8, "0")}`,
    name: "Nightly regression — checkout flow",
    status: "completed",
    result: "passed",
    totals: { passed: 412, failed: 0, blocked: 1, untested: 3 },
    milestone: { id: "ms_2026_11", name: "Release 2026.11" },
    started_at: "2026-11-28T14:58:12.034Z",
    finished_at: "2026-11-28T15:04:05.123Z",
    url: `https://app.example.com/projects/acme/runs/${i}`,
    tags: ["nightly", "ci", "checkout", "regression"],
    assignee: { id: "usr_42", name: "Ada Lovelace", email: "ada@example.com" },
  };
  if (sentNs !== undefined) s.sent_ns = String(sentNs);
  return s;
}

/** The body a delivery of `subject(0)` carries, for the raw client. */
export function sampleBody() {
  return JSON.stringify({ id: "evt_01JDZQ5X7J0000000000000000", event: EVENT, created_at: new Date().toISOString(), project_id: "bench", subject: subject(0) });
}

/** `raw_rps`: a plain undici client posting the same body to the same receiver at the same concurrency. */
export async function rawRps(receiver, { requests = 30_000, warmup = 3_000 } = {}) {
  const agent = new Agent({ connections: CONCURRENCY, connect: { ca: receiver.ca } });
  const body = sampleBody();
  const headers = { "content-type": "application/json", "user-agent": "bench-raw/1", "hookline-event": EVENT };
  const run = async (n) => {
    let next = 0;
    const t0 = nowNs();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          const res = await agent.request({ origin: receiver.origins[next % receiver.origins.length], path: "/raw", method: "POST", headers, body });
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`raw: status ${res.statusCode}`);
        }
      }),
    );
    return n / seconds(t0, nowNs());
  };
  await run(warmup);
  const rps = await run(requests);
  await agent.close();
  return rps;
}

/** Sockets per webhook in Hookline's sender (HOOKLINE_WEBHOOK_CONCURRENCY's default), and per origin in the raw thread. */
export const CONNECTIONS_PER_WEBHOOK = 16;

/**
 * `raw_thread_cpu_ms_per_request`: CPU per request of a bare undici POST loop in a worker thread
 * (bench/raw-thread.js), signed as Hookline signs (two HMAC-SHA256) and unsigned: the floor of a
 * sender thread's CPU per attempt; with `pacedRate`, also a signed run held to that many requests/s,
 * the floor at a sender thread's own rate (one or two responses per turn of its event loop).
 */
export async function rawThreadCpu(receiver, { requests = 20_000, warmup = 3_000, pacedRate = 0 } = {}) {
  const thread = new Worker(new URL("./raw-thread.js", import.meta.url), {
    workerData: {
      origins: receiver.origins.slice(0, WEBHOOKS),
      ca: receiver.ca,
      concurrency: CONCURRENCY,
      connections: CONNECTIONS_PER_WEBHOOK,
      requests,
      warmup,
      body: sampleBody(),
      event: EVENT,
      pacedRate,
    },
  });
  try {
    return await new Promise((resolve, reject) => {
      thread.once("message", resolve);
      thread.once("error", reject);
      thread.once("exit", (code) => reject(new Error(`raw thread exited (${code})`)));
    });
  } finally {
    await thread.terminate();
  }
}

/** Starts Hookline: `serve` (with worker unless `workers` > 0) plus `workers` separate `hookline worker` processes. */
export async function startHookline(dialect, receiver, { label, workers = 0, serveWorker = true, env = {}, db: givenDb, workDir: givenDir } = {}) {
  const workDir = givenDir ?? makeWorkDir(`${dialect}-${label}`);
  const db = givenDb ?? (await createDatabase(dialect, workDir));
  const opts = { workDir, databaseUrl: db.url, certFile: receiver.certFile, env: { HOOKLINE_CONCURRENCY: String(CONCURRENCY), ...env } };
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const serve = spawnHookline(["serve", "--port", String(port), ...(serveWorker && workers === 0 ? [] : ["--no-worker"])], opts);
  await waitReady(baseUrl, serve);
  const workerProcs = [];
  for (let i = 0; i < workers; i++) workerProcs.push(spawnHookline(["worker"], opts));
  if (workers > 0) {
    await sleep(2000); // no readiness endpoint on a worker: give it time to connect and migrate-check
    for (const w of workerProcs) if (w.exited) throw new Error(`worker exited: ${w.tail()}`);
  }
  const api = apiClient(baseUrl, PUBLISHERS);
  return {
    db,
    workDir,
    serve,
    workers: workerProcs,
    api,
    baseUrl,
    async stop(graceMs) {
      await api.close();
      await Promise.all([serve.stop(graceMs), ...workerProcs.map((w) => w.stop(graceMs))]);
    },
    async drop() {
      await db.drop();
      if (!process.env.BENCH_KEEP) fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export async function setupProject(api, projectId, urls) {
  const p = await api.call("PUT", `/api/v1/projects/${projectId}`, { name: `Bench ${projectId}` });
  if (p.status !== 201 && p.status !== 200) throw new Error(`PUT project: ${p.status} ${JSON.stringify(p.body)}`);
  for (const [i, url] of urls.entries()) {
    const res = await api.call("POST", `/api/v1/projects/${projectId}/webhooks`, {
      name: `hook ${i + 1}`,
      events: [EVENT],
      url,
      secret: `whsec_bench_secret_${i}_0123456789abcdef`,
    });
    if (res.status !== 201) throw new Error(`POST webhook: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** Webhook i posts to the receiver's origin i (each webhook its own endpoint, as in real projects). */
export const hookUrls = (receiver, n) => Array.from({ length: n }, (_, i) => `${receiver.origins[i % receiver.origins.length]}/hook/${i + 1}`);

export async function publishOne(api, projectId, i, withTimestamp) {
  const res = await api.call("POST", `/api/v1/projects/${projectId}/events`, { event: EVENT, subject: subject(i, withTimestamp ? nowNs() : undefined) });
  if (res.status !== 202) throw new Error(`publish: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.deliveries;
}

/** Publishes `n` events from `clients` concurrent clients (`withTimestamp`: for latency); answers the seconds taken. */
export async function publishMany(api, projectId, n, clients = PUBLISHERS, withTimestamp = false) {
  let next = 0;
  const t0 = nowNs();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < n) await publishOne(api, projectId, next++, withTimestamp);
    }),
  );
  return seconds(t0, nowNs());
}

/** Publishes at a steady `eps` events/s for `durationS` seconds (open loop: calls are not awaited in turn). */
async function publishPaced(api, projectId, eps, durationS, withTimestamp) {
  const total = Math.round(eps * durationS);
  const start = performance.now();
  const calls = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / eps - performance.now();
    if (wait > 1) await sleep(wait);
    calls.push(publishOne(api, projectId, i, withTimestamp));
  }
  await Promise.all(calls);
  return total;
}

/**
 * `throughput_dps`: 4,000 events × 5 webhooks published through the API, until the 20,000th arrives.
 * `workers` = 0: one `serve` with its worker; otherwise `serve --no-worker` plus that many `hookline worker`s.
 */
export async function throughput(dialect, receiver, { workers = 0, events = 4000 } = {}) {
  const h = await startHookline(dialect, receiver, { label: `tput-w${workers}`, workers });
  try {
    return await runThroughput(h, receiver, events, dialect);
  } finally {
    await h.stop();
    await h.drop();
  }
}

/** PostgreSQL's server CPU per delivery (ms) over a stretch of work, or undefined on SQLite. */
export function serverCpu(dialect) {
  if (dialect !== "postgres") return () => undefined;
  const t0 = postgresCpuSeconds();
  return (deliveries) => ((postgresCpuSeconds() - t0) * 1000) / deliveries;
}

/** The OS name (comm) of Hookline's sender threads: `hookline-send-N` (src/delivery/sender-thread.ts). */
const SENDER_THREAD = /^hookline-send-/;

async function runThroughput(h, receiver, events, dialect) {
  const total = events * WEBHOOKS;
  await setupProject(h.api, "bench", hookUrls(receiver, WEBHOOKS));
  await receiver.reset();
  const procs = [h.serve, ...h.workers];
  const cpu0 = procs.map((p) => cpuSeconds(p.pid));
  const mainCpu0 = procs.map((p) => cpuSeconds(p.pid, { mainThread: true }));
  const senderCpu0 = procs.map((p) => threadsCpuSeconds(p.pid, SENDER_THREAD));
  const threads0 = process.env.BENCH_THREADS ? procs.map((p) => perThreadCpuSeconds(p.pid)) : null;
  const pgCpu = serverCpu(dialect);
  const t0 = nowNs();
  const publishing = publishMany(h.api, "bench", events);
  const tEnd = await receiver.waitFor(total, 240_000);
  await publishing;
  const dps = total / seconds(t0, tEnd);
  // CPU the Hookline processes spent per delivery: steadier than wall time on a shared machine.
  const cpuMs = (procs.reduce((sum, p, i) => sum + cpuSeconds(p.pid) - cpu0[i], 0) * 1000) / total;
  const mainCpuMs = (procs.reduce((sum, p, i) => sum + cpuSeconds(p.pid, { mainThread: true }) - mainCpu0[i], 0) * 1000) / total;
  const senderCpuS = procs.reduce((sum, p, i) => sum + threadsCpuSeconds(p.pid, SENDER_THREAD) - senderCpu0[i], 0);
  if (threads0) {
    // BENCH_THREADS=1: each thread's CPU per delivery (ms) over the run, to see where the process's CPU goes.
    procs.forEach((p, i) => {
      const now = perThreadCpuSeconds(p.pid);
      const rows = Object.entries(now)
        .map(([k, v]) => [k, ((v - (threads0[i][k] ?? 0)) * 1000) / total])
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v.toFixed(3)}`);
      log(`threads of ${dialect} pid ${p.pid} (ms/delivery): ${rows.join(" ")}`);
    });
  }
  const serverCpuMs = pgCpu(total);
  // Every attempt is logged: wait for the recorder's last batch.
  const deadline = Date.now() + 30_000;
  let logged;
  while ((logged = await h.db.count("log_entries")) < total && Date.now() < deadline) await sleep(100);
  if (logged < total) throw new Error(`only ${logged} of ${total} attempts were logged`);
  const stats = await receiver.stats();
  return {
    dps,
    cpuMsPerDelivery: cpuMs,
    mainCpuMsPerDelivery: mainCpuMs,
    // Every attempt of this run is a delivery (the receiver answers 200 at once): `requests` counts
    // them, repeats included. NaN on a build whose sender threads have no OS name.
    senderCpuMsPerAttempt: senderCpuS > 0 ? (senderCpuS * 1000) / Math.max(total, stats.requests) : NaN,
    helperCpuMsPerDelivery: senderCpuS > 0 ? cpuMs - mainCpuMs - (senderCpuS * 1000) / total : NaN,
    serverCpuMsPerDelivery: serverCpuMs,
    requests: stats.requests,
    unique: stats.unique,
    logged,
  };
}

/**
 * `latency_ms` at a steady 500 deliveries/s (100 events/s × 5 webhooks), then `isolation_p99_ratio`:
 * 4 healthy webhooks at 100 events/s, without and then with a fifth webhook that hangs until timeout.
 */
export async function latencyAndIsolation(dialect, receiver, { warmupS = 2, durationS = 10, isolationS = 20 } = {}) {
  const h = await startHookline(dialect, receiver, { label: "latency" });
  try {
    await setupProject(h.api, "lat", hookUrls(receiver, WEBHOOKS));
    await setupProject(h.api, "iso-base", hookUrls(receiver, 4));
    await setupProject(h.api, "iso-hang", [...hookUrls(receiver, 4), `${receiver.hangUrl}/hang`]);

    const measure = async (projectId, fanout, s) => {
      await publishPaced(h.api, projectId, LATENCY_EPS, warmupS, false);
      await receiver.waitFor(Math.round(LATENCY_EPS * warmupS) * fanout, 60_000);
      await receiver.reset();
      const n = await publishPaced(h.api, projectId, LATENCY_EPS, s, true);
      await receiver.waitFor(n * fanout, 60_000);
      // A straggler of the warm-up (no timestamp) may have counted towards n: wait for every sample.
      let { latencies, arrivals } = await receiver.stats(true);
      for (const deadline = Date.now() + 5000; latencies.length < n * fanout && Date.now() < deadline;) {
        await sleep(20);
        ({ latencies, arrivals } = await receiver.stats(true));
      }
      if (process.env.BENCH_DUMP_LAT) {
        fs.writeFileSync(`${process.env.BENCH_DUMP_LAT}-${dialect}-${projectId}.json`, JSON.stringify(latencies));
        // Each sample's arrival on CLOCK_MONOTONIC (ms), same order: to line the series up with server logs.
        fs.writeFileSync(`${process.env.BENCH_DUMP_LAT}-${dialect}-${projectId}-at.json`, JSON.stringify(arrivals));
      }
      latencies.sort((a, b) => a - b);
      return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1), samples: latencies.length };
    };
    const latency = await measure("lat", WEBHOOKS, durationS);
    // 20 s each: a p99 of 8,000 samples, so that a few scheduler hiccups of this shared machine do not
    // decide it, and two waves of the hanging webhook's attempts timing out (every 10 s) fall inside.
    const base = await measure("iso-base", 4, isolationS);
    const hang = await measure("iso-hang", 4, isolationS);
    const hung = (await receiver.stats()).hung;
    return { latency, isolation: { base, hang, hung_requests: hung, p99_ratio: hang.p99 / base.p99 } };
  } finally {
    await h.stop(1000); // hanging attempts are abandoned (SIGKILL after 1 s)
    await h.drop();
  }
}

/**
 * `publish_eps` (20,000 events with 5 webhooks each into `serve --no-worker`), then `backlog`: the
 * 100,000 queued deliveries drained by a fresh `serve` with its worker; peak RSS of that process.
 */
export async function publishAndBacklog(dialect, receiver, { events = 20_000 } = {}) {
  const total = events * WEBHOOKS;
  const api = await startHookline(dialect, receiver, { label: "backlog", serveWorker: false });
  let publishS, publishCpu;
  try {
    await setupProject(api.api, "bench", hookUrls(receiver, WEBHOOKS));
    await receiver.reset();
    const cpu0 = cpuSeconds(api.serve.pid);
    publishS = await publishMany(api.api, "bench", events);
    publishCpu = cpuSeconds(api.serve.pid) - cpu0;
  } finally {
    await api.stop();
  }
  const queued = await api.db.count("deliveries");
  if (queued !== total) throw new Error(`expected ${total} queued deliveries, found ${queued}`);
  const h = await startHookline(dialect, receiver, { label: "drain", db: api.db, workDir: api.workDir });
  const drainCpu0 = cpuSeconds(h.serve.pid);
  const pgCpu = serverCpu(dialect);
  let peakSampled = 0;
  const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, rssMb(h.serve.pid).now)), 100);
  try {
    await receiver.waitFor(total, 300_000);
    const stats = await receiver.stats();
    const rss = rssMb(h.serve.pid);
    const serverCpuMs = pgCpu(total);
    return {
      publish_eps: events / publishS,
      publish_cpu_ms_per_event: (publishCpu * 1000) / events,
      drain_cpu_ms_per_delivery: ((cpuSeconds(h.serve.pid) - drainCpu0) * 1000) / total,
      drain_server_cpu_ms_per_delivery: serverCpuMs,
      drain_dps: (stats.unique - 1) / seconds(stats.first_ns, stats.last_ns),
      peak_rss_mb: Math.max(rss.peak, peakSampled),
      requests: stats.requests,
    };
  } finally {
    clearInterval(sampler);
    await h.stop();
    await h.drop();
  }
}

/**
 * `fifo_dps`: one webhook with `ordering: "fifo"` against the fast receiver: `events` published at
 * once, deliveries per second until the last arrives. One attempt in flight at a time, so this is
 * the round trip of claim, attempt and record, not the worker's parallel throughput.
 */
export async function fifoThroughput(dialect, receiver, { events = 1000 } = {}) {
  const h = await startHookline(dialect, receiver, { label: "fifo" });
  try {
    const p = await h.api.call("PUT", "/api/v1/projects/fifo", { name: "Bench fifo" });
    if (p.status !== 201) throw new Error(`PUT project: ${p.status} ${JSON.stringify(p.body)}`);
    const url = hookUrls(receiver, 1)[0];
    const res = await h.api.call("POST", "/api/v1/projects/fifo/webhooks", { name: "fifo", events: [EVENT], url, ordering: "fifo" });
    if (res.status !== 201) throw new Error(`POST webhook: ${res.status} ${JSON.stringify(res.body)}`);
    await receiver.reset();
    const t0 = nowNs();
    const publishing = publishMany(h.api, "fifo", events);
    const tEnd = await receiver.waitFor(events, 600_000);
    await publishing;
    return { dps: events / seconds(t0, tEnd) };
  } finally {
    await h.stop();
    await h.drop();
  }
}
