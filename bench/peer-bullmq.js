/**
 * `peers.bullmq`: the throughput run's workload through the queue a Node team would otherwise build
 * itself — BullMQ on Redis, an undici sender, HMAC-SHA256 signatures per attempt — so that
 * Hookline's deliveries/s has a yardstick measured in the same run on the same machine.
 *
 * Same shape as `throughput`: 4,000 events × 5 webhooks (one receiver origin each) = 20,000
 * deliveries, the same body, the same headers and both signatures Hookline sends (hex `Signature` and
 * Standard Webhooks `webhook-signature`), until the 20,000th arrives. BullMQ gets its own best
 * settings: jobs added in bulk (`addBulk`, 1,000 a call) while the worker runs, worker concurrency
 * equal to Hookline's (64), 16 connections per origin like Hookline's sender, retries as Hookline's
 * (4 attempts), and completed jobs kept with their result (status, duration, response body: the
 * closest a plain queue comes to a delivery log). The worker is a child process of its own, as
 * Hookline's is. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379).
 */
import { fork } from "node:child_process";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { Agent } from "undici";
import { CONCURRENCY, EVENT, WEBHOOKS, hookUrls, subject } from "./scenarios.js";
import { cpuSeconds, nowNs, processCpuSeconds, seconds, sleep } from "./support.js";

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = () => {
  const u = new URL(REDIS_URL);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
};
const secretOf = (i) => `whsec_bench_secret_${i}_0123456789abcdef`;

if (process.env.BENCH_BULLMQ_WORKER) await runWorker(JSON.parse(process.env.BENCH_BULLMQ_WORKER));

/** True when Redis answers PING. */
export async function redisReachable() {
  const q = new Queue("hookline-bench-ping", { connection: { ...redis(), connectTimeout: 3000, retryStrategy: () => null } });
  try {
    const client = await q.client;
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    await q.close().catch(() => {});
  }
}

/** Answers deliveries/s and CPU per delivery of the worker process and of Redis. */
export async function bullmqThroughput(receiver, { events = 4000 } = {}) {
  const total = events * WEBHOOKS;
  const name = `hookline-bench-${crypto.randomBytes(4).toString("hex")}`;
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, BENCH_BULLMQ_WORKER: JSON.stringify({ name, ca: receiver.ca }) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bullmq worker exited (${code})`)));
    child.once("message", resolve);
  });
  const queue = new Queue(name, { connection: redis() });
  try {
    const urls = hookUrls(receiver, WEBHOOKS);
    await receiver.reset();
    const cpu0 = cpuSeconds(child.pid);
    const redisCpu0 = processCpuSeconds("redis-server");
    const t0 = nowNs();
    let jobs = [];
    for (let i = 0; i < events; i++) {
      const body = JSON.stringify({
        id: `evt_${String(i).padStart(26, "0")}`,
        event: EVENT,
        created_at: new Date().toISOString(),
        project_id: "bench",
        subject: subject(i),
      });
      for (let w = 0; w < WEBHOOKS; w++) {
        jobs.push({ name: EVENT, data: { url: urls[w], webhook: w, body }, opts: { attempts: 4, backoff: { type: "fixed", delay: 1000 } } });
      }
      if (jobs.length >= 1000) {
        await queue.addBulk(jobs);
        jobs = [];
      }
    }
    if (jobs.length) await queue.addBulk(jobs);
    const tEnd = await receiver.waitFor(total, 240_000);
    const dps = total / seconds(t0, tEnd);
    const cpuMs = ((cpuSeconds(child.pid) - cpu0) * 1000) / total;
    const redisCpuMs = ((processCpuSeconds("redis-server") - redisCpu0) * 1000) / total;
    // Every attempt's result is kept: wait for the last completions to be recorded.
    let completed = 0;
    for (const deadline = Date.now() + 30_000; (completed = await queue.getCompletedCount()) < total && Date.now() < deadline;) await sleep(100);
    if (completed < total) throw new Error(`only ${completed} of ${total} jobs completed`);
    return { dps, cpuMsPerDelivery: cpuMs, redisCpuMsPerDelivery: redisCpuMs };
  } finally {
    child.send({ cmd: "exit" });
    await new Promise((resolve) => child.once("exit", resolve));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** The worker process: signs and sends each job like Hookline's sender, keeps the result. */
async function runWorker({ name, ca }) {
  const agent = new Agent({ connections: 16, headersTimeout: 10_000, bodyTimeout: 10_000, connect: { ca } });
  const worker = new Worker(
    name,
    async (job) => {
      const { url, webhook, body } = job.data;
      const id = `dlv_${job.id}`;
      const secret = Buffer.from(secretOf(webhook), "utf8");
      const ts = Math.floor(Date.now() / 1000);
      const started = performance.now();
      const u = new URL(url);
      const res = await agent.request({
        origin: u.origin,
        path: u.pathname,
        method: "POST",
        body,
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "bench-bullmq/1",
          "Hookline-Event": EVENT,
          "Hookline-Delivery": id,
          "Hookline-Attempt": String(job.attemptsMade + 1),
          Signature: crypto.createHmac("sha256", secret).update(body).digest("hex"),
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": `v1,${crypto.createHmac("sha256", secret).update(`${id}.${ts}.${body}`).digest("base64")}`,
        },
      });
      const response = await res.body.text();
      if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`status ${res.statusCode}`);
      return { status: res.statusCode, duration_ms: Math.round(performance.now() - started), response };
    },
    { connection: redis(), concurrency: CONCURRENCY }, // completed and failed jobs are kept (BullMQ's default)
  );
  await worker.waitUntilReady();
  process.on("message", async (m) => {
    if (m?.cmd !== "exit") return;
    await worker.close();
    await agent.close();
    process.exit(0);
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ ready: true });
  await new Promise(() => {}); // works until the parent says exit
}
