/**
 * The benchmark's webhook receiver, run in its own process (child_process.fork) so that its CPU is
 * not the harness's. HTTPS servers on loopback with one self-signed certificate:
 *   - `ports` (one per webhook, so each webhook is its own origin as separate endpoints would be,
 *     and gets its own socket pool in the sender): keep-alive, answers 200 as soon as the body is
 *     read; counts deliveries (unique
 *     Hookline-Delivery ids) and, when the body carries `"sent_ns":"…"` (process.hrtime of the
 *     publish call's start, CLOCK_MONOTONIC, so comparable across processes), records the latency.
 *   - `hangPorts` (four origins): read the request and never answer (hanging endpoints; the client times out).
 *     The `ports` servers do the same for a path under `/hang/`: webhooks that hang on a shared origin.
 *     It runs in a process of its own (this file again, with BENCH_HANG_TLS_DIR): a hanging endpoint
 *     is another server, and the TLS handshakes of the attempts that replace timed-out ones must not
 *     delay the healthy receivers' answers (the latency measured is Hookline's, not this process's).
 * The parent talks to it over IPC: reset, waitFor(n), stats.
 */
import { execFileSync, fork } from "node:child_process";
import fs from "node:fs";
import { createServer } from "node:https";
import os from "node:os";
import path from "node:path";
import { selfSignedArgs } from "../dist/cli/self-signed.js";
import { ipcCaller } from "./ipc.js";

const HANG_ROLE = Boolean(process.env.BENCH_HANG_TLS_DIR);
/** Hanging endpoints (the burst isolation run uses four webhooks that hang, each on its own origin). */
const HANG_ORIGINS = 4;
const dir = process.env.BENCH_HANG_TLS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "hookline-bench-tls-"));
const keyFile = path.join(dir, "key.pem");
const certFile = path.join(dir, "cert.pem");
if (!HANG_ROLE) {
  execFileSync("openssl", selfSignedArgs(keyFile, certFile, { days: 2, subject: "/CN=localhost", altNames: "DNS:localhost,IP:127.0.0.1" }), {
    stdio: "ignore",
  });
}
const tls = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
const listen = (s) => new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s.address().port)));

if (HANG_ROLE) await runHangServer();

let seen = new Set();
let requests = 0;
let latencies = [];
/** Each sample's arrival (CLOCK_MONOTONIC, ms), same order: to line a latency series up with other clocks' logs. */
let arrivals = [];
let firstAt = 0n;
let lastAt = 0n;
let waiters = [];
/** Requests to a `/hang/` path of the `ports` servers (hanging webhooks on a shared origin), never answered. */
let sharedHung = 0;
const SENT = /"sent_ns":"(\d+)"/;

function onDelivery(body, deliveryId) {
  const now = process.hrtime.bigint();
  requests++;
  if (deliveryId) {
    if (seen.has(deliveryId)) return; // a repeated attempt (at-least-once): counted once
    seen.add(deliveryId);
  }
  if (firstAt === 0n) firstAt = now;
  lastAt = now;
  const m = SENT.exec(body);
  if (m) {
    latencies.push(Number(now - BigInt(m[1])) / 1e6);
    arrivals.push(Number(now / 1000n) / 1000);
  }
  const n = deliveryId ? seen.size : requests;
  if (waiters.length) {
    waiters = waiters.filter((w) => {
      if (n < w.n) return true;
      process.send({ type: "reached", id: w.id, at_ns: String(now) });
      return false;
    });
  }
}

function okServer() {
  const server = createServer({ ...tls, keepAliveTimeout: 120_000 }, (req, res) => {
    if (req.url.startsWith("/hang/")) {
      sharedHung++;
      req.resume(); // read the body, never answer
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-length": "0" });
      res.end();
      onDelivery(Buffer.concat(chunks).toString("utf8"), req.headers["hookline-delivery"]);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.on("tlsClientError", () => {});
  return server;
}
const ORIGINS = Number(process.env.BENCH_ORIGINS ?? 5);
const servers = Array.from({ length: ORIGINS }, okServer);

const ports = [];
for (const s of servers) ports.push(await listen(s));
const hang = await startHangProcess();

process.on("message", (msg) => {
  switch (msg.cmd) {
    case "reset":
      seen = new Set();
      requests = 0;
      latencies = [];
      arrivals = [];
      firstAt = lastAt = 0n;
      waiters = [];
      sharedHung = 0;
      hang.call({ cmd: "reset" }).then(() => process.send({ type: "ok", id: msg.id }));
      break;
    case "waitFor": {
      const n = seen.size || requests;
      if (n >= msg.n) process.send({ type: "reached", id: msg.id, at_ns: String(lastAt) });
      else waiters.push({ n: msg.n, id: msg.id });
      break;
    }
    case "stats":
      hang.call({ cmd: "stats" }).then(({ hung }) =>
        process.send({
          type: "stats",
          id: msg.id,
          requests,
          unique: seen.size,
          hung: hung + sharedHung,
          first_ns: String(firstAt),
          last_ns: String(lastAt),
          latencies: msg.latencies ? latencies : undefined,
          arrivals: msg.latencies ? arrivals : undefined,
        }),
      );
      break;
    case "exit":
      hang.child.kill();
      for (const s of servers) s.close();
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
  }
});
process.on("disconnect", () => {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});

process.send({ type: "ready", ports, hangPorts: hang.ports, certFile });

/** Forks this file in the hang role; answers its ports and a request/answer call over IPC. */
async function startHangProcess() {
  const child = fork(new URL(import.meta.url).pathname, [], {
    env: { ...process.env, BENCH_HANG_TLS_DIR: dir },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const ports = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`hang receiver exited (${code})`)));
    child.once("message", (m) => resolve(m.ports));
  });
  const call = ipcCaller(child, "hang receiver");
  return { child, ports, call };
}

/** The hang role: HTTPS servers (one per hanging endpoint, each its own origin) that read each request and never answer. */
async function runHangServer() {
  let hung = 0;
  const ports = [];
  for (let i = 0; i < HANG_ORIGINS; i++) {
    const hangServer = createServer({ ...tls, keepAliveTimeout: 120_000 }, (req) => {
      hung++;
      req.resume(); // read the body, never answer
    });
    hangServer.requestTimeout = 0;
    hangServer.on("tlsClientError", () => {});
    ports.push(await listen(hangServer));
  }
  process.on("message", (msg) => {
    if (msg.cmd === "reset") hung = 0;
    process.send({ id: msg.id, hung });
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ ports });
  await new Promise(() => {}); // serves until the parent goes
}
