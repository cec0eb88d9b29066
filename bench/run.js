/**
 * `npm run bench`: Hookline's delivery pipeline against its limit, on SQLite and PostgreSQL.
 * Prints ONE JSON object on stdout (every figure from this run) and a readable table on stderr.
 * Method and targets: docs/performance.md.
 *
 *   node bench/run.js [--store sqlite|postgres] [--scale 1]
 *     [--only throughput,raw_thread,latency,backlog,workers,fairness,isolation_burst,fifo,bullmq,log_scale]
 *
 * Hookline runs as real child processes (`node bin/hookline.js serve|worker`, built dist/), the
 * receiver in its own process (bench/receiver.js).
 *
 * Environment: BENCH_DATABASE_URL (PostgreSQL admin URL; a database is created per scenario),
 * BENCH_REDIS_URL (redis://127.0.0.1:6379, for the BullMQ peer),
 * BENCH_CONCURRENCY (64), BENCH_LATENCY_EPS (100), BENCH_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" for Hookline's processes), BENCH_DUMP_LAT (path prefix: every latency
 * sample of each latency phase as JSON, in arrival order), BENCH_KEEP (keep work folders),
 * BENCH_PG_LOG (PostgreSQL logs every statement of the bench's databases with its duration; a number above 1: those that
 * took at least that many ms), BENCH_PG_EXPLAIN (ms: auto_explain logs the plans of statements that took that long).
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { fairness, isolationBurst } from "./fairness.js";
import { logScale } from "./log-scale.js";
import { bullmqThroughput, redisReachable, REDIS_URL } from "./peer-bullmq.js";
import { CONCURRENCY, fifoThroughput, latencyAndIsolation, publishAndBacklog, rawRps, rawThreadCpu, throughput } from "./scenarios.js";
import { log, postgresReachable, round, startReceiver } from "./support.js";

const { values } = parseArgs({ options: { store: { type: "string" }, only: { type: "string" }, scale: { type: "string" } } });
// --scale 0.1 shrinks every count (quick checks, slow baselines); the figures of record use 1.
const scale = Number(values.scale ?? 1);
const stores = values.store ? values.store.split(",") : ["sqlite", "postgres"];
const only = values.only ? new Set(values.only.split(",")) : null;
const want = (name) => !only || only.has(name);
/** Requests/s of the raw thread's paced run: about a sender thread's rate in the throughput run on SQLite. */
const RAW_PACED_RATE = 3500;

const TARGETS = {
  sqlite: { ratio: 0.5, p50: 5, p99: 25 },
  postgres: { ratio: 0.35, p50: 10, p99: 50 },
  isolation_p99_ratio: 1.5,
  peak_rss_mb: 300,
  /** Issue 25: whole-process CPU per delivery over BullMQ worker + Redis (SQLite; PostgreSQL adds its server's). */
  cpu_vs_bullmq: 1.1,
};

const started = Date.now();
const receiver = await startReceiver();
const result = { raw_rps: null };
let failed = false;
try {
  log(`bench: receiver on ${receiver.origins.join(" ")}, concurrency ${CONCURRENCY}, ${os.cpus().length} CPUs`);
  result.raw_rps = round(await rawRps(receiver), 0);
  log(`raw_rps ${result.raw_rps}`);
  if (want("throughput") || want("raw_thread")) {
    // The floor of a sender thread's CPU per attempt (bench/raw-thread.js): flat out, and held to
    // RAW_PACED_RATE requests/s, about a sender thread's own rate in the throughput run.
    try {
      const raw = await rawThreadCpu(receiver, { requests: Math.max(2000, Math.round(20_000 * scale)), pacedRate: RAW_PACED_RATE });
      result.raw_thread_cpu_ms_per_request = round(raw.signed.cpuMsPerRequest, 3);
      result.raw_thread_unsigned_cpu_ms_per_request = round(raw.unsigned.cpuMsPerRequest, 3);
      result.raw_thread_rps = round(raw.signed.rps, 0);
      result.raw_thread_paced_cpu_ms_per_request = round(raw.paced.cpuMsPerRequest, 3);
      result.raw_thread_paced_rps = round(raw.paced.rps, 0);
      log(
        `raw_thread_cpu_ms_per_request ${result.raw_thread_cpu_ms_per_request} (unsigned ${result.raw_thread_unsigned_cpu_ms_per_request}, paced at ${result.raw_thread_paced_rps}/s ${result.raw_thread_paced_cpu_ms_per_request})`,
      );
    } catch (err) {
      failed = true;
      result.raw_thread_error = err.message;
      log(`raw_thread FAILED: ${err.stack}`);
    }
  }
  if (want("bullmq")) {
    const t = Date.now();
    try {
      if (!(await redisReachable())) throw new Error(`Redis unreachable at ${REDIS_URL} (start redis-server, or set BENCH_REDIS_URL)`);
      const b = await bullmqThroughput(receiver, { events: Math.round(4000 * scale) });
      result.peers = {
        bullmq: {
          throughput_dps: round(b.dps, 0),
          cpu_ms_per_delivery: round(b.cpuMsPerDelivery, 3),
          redis_cpu_ms_per_delivery: round(b.redisCpuMsPerDelivery, 3),
        },
      };
    } catch (err) {
      failed = true;
      result.peers = { bullmq: { error: err.message } };
      log(`bullmq FAILED: ${err.stack}`);
    }
    log(`peers.bullmq done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const pgUp = stores.includes("postgres") && (await postgresReachable());
  for (const store of stores) {
    if (store === "postgres" && !pgUp) {
      result.postgres = { error: "PostgreSQL unreachable (set BENCH_DATABASE_URL)" };
      failed = true;
      continue;
    }
    const r = (result[store] = {});
    const step = async (name, fn) => {
      if (!want(name)) return;
      const t = Date.now();
      try {
        await fn();
      } catch (err) {
        failed = true;
        r[`${name}_error`] = err.message;
        log(`${store} ${name} FAILED: ${err.stack}`);
      }
      log(`${store} ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    };
    await step("throughput", async () => {
      const t = await throughput(store, receiver, { events: Math.round(4000 * scale) });
      r.throughput_dps = round(t.dps, 0);
      r.ratio = round(t.dps / result.raw_rps, 3);
      r.cpu_ms_per_delivery = round(t.cpuMsPerDelivery, 3);
      r.main_thread_cpu_ms_per_delivery = round(t.mainCpuMsPerDelivery, 3);
      r.sender_cpu_ms_per_attempt = round(t.senderCpuMsPerAttempt, 3);
      // The rest of the process: V8's helper threads (garbage collection, compilation) and libuv's pool.
      r.helper_threads_cpu_ms_per_delivery = round(t.helperCpuMsPerDelivery, 3);
      if (t.serverCpuMsPerDelivery !== undefined) r.server_cpu_ms_per_delivery = round(t.serverCpuMsPerDelivery, 3);
    });
    await step("fifo", async () => {
      // One FIFO webhook: deliveries per second one at a time (docs/delivery-policies.md, "Choosing FIFO").
      r.fifo_dps = round((await fifoThroughput(store, receiver, { events: Math.max(50, Math.round(1000 * scale)) })).dps, 0);
    });
    await step("latency", async () => {
      const { latency, isolation } = await latencyAndIsolation(store, receiver);
      r.latency_ms = { p50: round(latency.p50), p99: round(latency.p99), max: round(latency.max), samples: latency.samples };
      r.isolation_p99_ratio = round(isolation.p99_ratio);
      r.isolation = {
        p99_without_ms: round(isolation.base.p99),
        p99_with_hanging_ms: round(isolation.hang.p99),
        p50_without_ms: round(isolation.base.p50),
        p50_with_hanging_ms: round(isolation.hang.p50),
        hung_requests: isolation.hung_requests,
      };
    });
    await step("backlog", async () => {
      const b = await publishAndBacklog(store, receiver, { events: Math.round(20_000 * scale) });
      r.publish_eps = round(b.publish_eps, 0);
      r.publish_cpu_ms_per_event = round(b.publish_cpu_ms_per_event, 3);
      r.backlog = { peak_rss_mb: round(b.peak_rss_mb, 0), drain_dps: round(b.drain_dps, 0), cpu_ms_per_delivery: round(b.drain_cpu_ms_per_delivery, 3) };
      if (b.drain_server_cpu_ms_per_delivery !== undefined) r.backlog.server_cpu_ms_per_delivery = round(b.drain_server_cpu_ms_per_delivery, 3);
    });
    await step("fairness", async () => {
      const f = await fairness(store, receiver, { backlogEvents: Math.round(2000 * scale) });
      r.fairness = {
        p50_ms: round(f.p50),
        max_ms: round(f.max),
        probes: f.samples,
        backlog_at_first_probe: f.backlog_at_first_probe,
        backlog_at_last_probe: f.backlog_at_last_probe,
      };
    });
    await step("isolation_burst", async () => {
      const b = await isolationBurst(store, receiver, { events: Math.max(10, Math.round(60 * scale)) });
      r.isolation_burst = {
        p99_ratio: round(b.p99_ratio),
        p99_without_ms: round(b.base.p99),
        p99_with_hanging_ms: round(b.hang.p99),
        p50_without_ms: round(b.base.p50),
        p50_with_hanging_ms: round(b.hang.p50),
        max_with_hanging_ms: round(b.hang.max),
        samples: b.hang.samples,
        hung_requests: b.hung_requests,
        timeout_ms: b.timeout_ms,
        // Every webhook, healthy and hanging, on one origin (paths differ).
        shared_p99_ratio: round(b.shared.p99_ratio),
        shared_p99_without_ms: round(b.shared.base.p99),
        shared_p99_with_hanging_ms: round(b.shared.hang.p99),
        shared_p50_with_hanging_ms: round(b.shared.hang.p50),
        shared_max_with_hanging_ms: round(b.shared.hang.max),
        shared_hung_requests: b.shared.hung_requests,
      };
    });
    await step("log_scale", async () => {
      const l = await logScale(store, receiver, {
        entries: Math.round(1_000_000 * scale),
        pageRequests: Math.max(20, Math.round(200 * scale)),
        templateEvents: Math.max(50, Math.round(400 * scale)),
      });
      const ms = (p) => ({ p50: round(p.p50), p99: round(p.p99) });
      r.log_scale = {
        log_page_p99_ms: round(l.log_page_p99_ms),
        first_page_ms: ms(l.pages.first_page),
        failed_page_ms: ms(l.pages.failed_page),
        stats_24h_ms: ms(l.pages.stats_24h),
        purge_rows_per_s: round(l.purge_rows_per_s, 0),
        purge_rows: l.purge_rows,
        purge_seconds: round(l.purge_seconds, 2),
        expire: l.expire,
        ...(l.dps_before_purge !== undefined
          ? { dps_before_purge: round(l.dps_before_purge, 0), purge_drop_rows: l.purge_drop_rows, purge_drop_seconds: round(l.purge_drop_seconds, 3) }
          : {}),
        throughput_during_purge_ratio: round(l.throughput_during_purge_ratio),
        dps_during_purge: round(l.dps_during_purge, 0),
        dps_after_purge: round(l.dps_after_purge, 0),
        bytes_per_entry: round(l.bytes_per_entry, 0),
        entries: l.entries,
        seed_seconds: round(l.seed_seconds, 1),
      };
    });
    if (store === "postgres") {
      await step("workers", async () => {
        const one = await throughput(store, receiver, { workers: 1, events: Math.round(4000 * scale) });
        const two = await throughput(store, receiver, { workers: 2, events: Math.round(4000 * scale) });
        r.workers_2_vs_1 = round(two.dps / one.dps, 2);
        r.workers = { one_dps: round(one.dps, 0), two_dps: round(two.dps, 0) };
      });
    }
  }
  // Each store's throughput over BullMQ's, both from this run.
  const peer = result.peers?.bullmq?.throughput_dps;
  for (const store of stores) if (peer && result[store]?.throughput_dps) result[store].throughput_vs_bullmq = round(result[store].throughput_dps / peer, 2);
  // Each store's CPU per delivery (process, + server on PostgreSQL) over BullMQ's (worker + Redis), same run.
  const peerCpu = result.peers?.bullmq?.cpu_ms_per_delivery;
  for (const store of stores) {
    const s = result[store];
    if (!peerCpu || !s?.cpu_ms_per_delivery) continue;
    s.cpu_vs_bullmq = round((s.cpu_ms_per_delivery + (s.server_cpu_ms_per_delivery ?? 0)) / (peerCpu + result.peers.bullmq.redis_cpu_ms_per_delivery), 2);
    if (s.sender_cpu_ms_per_attempt) s.sender_vs_bullmq_worker = round(s.sender_cpu_ms_per_attempt / peerCpu, 2);
  }
} finally {
  receiver.close();
}
result.meta = {
  cpus: os.cpus().length,
  node: process.version,
  concurrency: CONCURRENCY,
  scale,
  seconds: Math.round((Date.now() - started) / 1000),
};

printTable(result);
process.stdout.write(JSON.stringify(result) + "\n");
if (failed) process.exitCode = 1;

function printTable(r) {
  const rows = [["figure", "sqlite", "postgres", "target (sqlite / postgres)"]];
  const get = (store, f) => {
    const v = r[store] ? f(r[store]) : undefined;
    return v === undefined || v === null ? "—" : String(v);
  };
  const line = (name, f, target = "") => rows.push([name, get("sqlite", f), get("postgres", f), target]);
  rows.push(["raw_rps (limit)", String(r.raw_rps), "", ""]);
  line("throughput_dps", (s) => s.throughput_dps);
  line("ratio", (s) => s.ratio, `≥ ${TARGETS.sqlite.ratio} / ≥ ${TARGETS.postgres.ratio}`);
  if (r.peers?.bullmq) rows.push(["peers.bullmq dps", String(r.peers.bullmq.throughput_dps ?? r.peers.bullmq.error), "", ""]);
  line("throughput_vs_bullmq", (s) => s.throughput_vs_bullmq, "(reported beside the CPU ratio)");
  const b = r.peers?.bullmq;
  if (b?.cpu_ms_per_delivery !== undefined)
    rows.push(["peers.bullmq cpu ms/delivery (worker + redis)", `${b.cpu_ms_per_delivery} + ${b.redis_cpu_ms_per_delivery}`, "", ""]);
  line("cpu ms/delivery (process [+ server])", (s) =>
    s.cpu_ms_per_delivery === undefined
      ? undefined
      : `${s.cpu_ms_per_delivery}${s.server_cpu_ms_per_delivery !== undefined ? ` + ${s.server_cpu_ms_per_delivery}` : ""}`,
  );
  line("cpu_vs_bullmq", (s) => s.cpu_vs_bullmq, `≤ ${TARGETS.cpu_vs_bullmq} / —`);
  line("main_thread_cpu_ms_per_delivery", (s) => s.main_thread_cpu_ms_per_delivery);
  line("helper_threads_cpu_ms_per_delivery (GC, libuv)", (s) => s.helper_threads_cpu_ms_per_delivery);
  line(
    "sender_cpu_ms_per_attempt (× bullmq worker)",
    (s) => s.sender_cpu_ms_per_attempt && `${s.sender_cpu_ms_per_attempt} (${s.sender_vs_bullmq_worker ?? "—"})`,
    "≤ 1.0 × BullMQ worker",
  );
  if (r.raw_thread_cpu_ms_per_request !== undefined) {
    rows.push([
      "raw_thread_cpu_ms_per_request (unsigned; paced)",
      `${r.raw_thread_cpu_ms_per_request} (${r.raw_thread_unsigned_cpu_ms_per_request}; ${r.raw_thread_paced_cpu_ms_per_request} at ${r.raw_thread_paced_rps}/s)`,
      "",
      "(floor of a sender thread)",
    ]);
  }
  line("publish_eps", (s) => s.publish_eps);
  line("latency p50 ms", (s) => s.latency_ms?.p50, `≤ ${TARGETS.sqlite.p50} / ≤ ${TARGETS.postgres.p50}`);
  line("latency p99 ms", (s) => s.latency_ms?.p99, `≤ ${TARGETS.sqlite.p99} / ≤ ${TARGETS.postgres.p99}`);
  line("isolation_p99_ratio", (s) => s.isolation_p99_ratio, `≤ ${TARGETS.isolation_p99_ratio}`);
  line("backlog peak_rss_mb", (s) => s.backlog?.peak_rss_mb, `≤ ${TARGETS.peak_rss_mb}`);
  line("backlog drain_dps", (s) => s.backlog?.drain_dps);
  line("fairness p50 / max ms", (s) => s.fairness && `${s.fairness.p50_ms} / ${s.fairness.max_ms}`, "max ≤ 1000");
  line("log_page_p99_ms", (s) => s.log_scale?.log_page_p99_ms, "≤ 50");
  line("purge_rows_per_s", (s) => s.log_scale?.purge_rows_per_s);
  line("throughput during purge (ratio)", (s) => s.log_scale?.throughput_during_purge_ratio, "≥ 0.8");
  line("bytes per log entry", (s) => s.log_scale?.bytes_per_entry);
  line("isolation_burst p99 ms (ratio)", (s) => s.isolation_burst && `${s.isolation_burst.p99_with_hanging_ms} (${s.isolation_burst.p99_ratio})`);
  line(
    "isolation_burst shared origin p99 ms (ratio)",
    (s) => s.isolation_burst && `${s.isolation_burst.shared_p99_with_hanging_ms} (${s.isolation_burst.shared_p99_ratio})`,
  );
  line("workers_2_vs_1", (s) => s.workers_2_vs_1);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  log("");
  for (const row of rows) log(row.map((c, i) => c.padEnd(widths[i])).join("  "));
  log(`(${r.meta.seconds} s)`);
}
