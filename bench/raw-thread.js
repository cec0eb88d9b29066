/**
 * `raw_thread_cpu_ms_per_request`: the floor of what a sender thread can cost. A bare undici POST
 * loop in a worker thread of its own (node:worker_threads, like Hookline's sender threads) against
 * the same receiver origins, with the same body and headers as a Hookline attempt, the same
 * concurrency and one keep-alive pool per origin of HOOKLINE_WEBHOOK_CONCURRENCY's default 16
 * sockets (Hookline's per-webhook pools). The thread reads its own CPU from /proc/thread-self/stat,
 * once with the two HMAC-SHA256 signatures per request that Hookline computes and once without.
 *
 * Those two runs go as fast as the loop can (20,000+ requests/s here), where each turn of the event
 * loop handles many responses. A sender thread runs at Hookline's rate (about 3,500/s on SQLite),
 * with one or two responses per turn, and a request costs more there for any client: with
 * `pacedRate` (requests/s) the thread makes a third, signed run held to that rate (`paced`), the
 * floor to compare `sender_cpu_ms_per_attempt` with (docs/performance.md, "Sender thread to its floor").
 *
 * Run as a thread by `rawThreadCpu` (scenarios.js); this file is the thread's script.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { Pool } from "undici";

const { origins, ca, concurrency, connections, requests, warmup, body, event, pacedRate } = workerData;

/** CPU seconds (user + system) this thread has used so far (clock ticks of 10 ms). */
function threadCpuSeconds() {
  const fields = fs.readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

try {
  fs.writeFileSync("/proc/thread-self/comm", "bench-raw-send");
} catch {
  // only a name
}

const pools = origins.map((o) => new Pool(o, { connections, connect: { ca } }));
const secret = Buffer.from("whsec_bench_secret_0_0123456789abcdef", "utf8");
let seq = 0;

function headers(sign) {
  const id = `dlv_raw_${seq++}`;
  const h = {
    "Content-Type": "application/json",
    "User-Agent": "bench-raw-thread/1",
    "Hookline-Event": event,
    "Hookline-Delivery": id,
    "Hookline-Attempt": "1",
  };
  if (sign) {
    const ts = Math.floor(Date.now() / 1000);
    h.Signature = crypto.createHmac("sha256", secret).update(body).digest("hex");
    h["webhook-id"] = id;
    h["webhook-timestamp"] = String(ts);
    h["webhook-signature"] = `v1,${crypto.createHmac("sha256", secret).update(`${id}.${ts}.`).update(body).digest("base64")}`;
  }
  return h;
}

/** `rate` > 0: requests start at that rate, released by one timer every millisecond (none per request). */
async function run(n, sign, rate = 0) {
  let next = 0;
  const cpu0 = threadCpuSeconds();
  const t0 = performance.now();
  const waiting = [];
  let released = 0;
  const pacer =
    rate > 0
      ? setInterval(() => {
          const due = Math.floor(((performance.now() - t0) / 1000) * rate);
          while (released < due && waiting.length > 0) {
            released++;
            waiting.shift()();
          }
        }, 1)
      : undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        if (pacer) await new Promise((resolve) => waiting.push(resolve));
        const res = await pools[i % pools.length].request({ path: "/raw", method: "POST", headers: headers(sign), body });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`raw thread: status ${res.statusCode}`);
      }
    }),
  );
  clearInterval(pacer);
  return { cpuMsPerRequest: ((threadCpuSeconds() - cpu0) * 1000) / n, rps: n / ((performance.now() - t0) / 1000) };
}

await run(warmup, true);
const unsigned = await run(requests, false);
const signed = await run(requests, true);
const paced = pacedRate > 0 ? await run(requests, true, pacedRate) : undefined;
await Promise.all(pools.map((p) => p.close()));
parentPort.postMessage({ signed, unsigned, paced });
