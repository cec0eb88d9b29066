/**
 * Publish-to-delivery latency between nodes behind PgBouncer in transaction mode (docs/scaling.md,
 * "Behind a connection pooler"): an API node (`serve --no-worker`) and one `hookline worker` with
 * DATABASE_URL through the pooler and HOOKLINE_PG_POOLER=transaction, the worker woken over a
 * direct HOOKLINE_PG_LISTEN_URL or, without it, by its poll; and both directly, for comparison.
 * Events are published one at a time (paced), one webhook each; prints JSON (ms).
 *   node bench/pooler-latency.js [--events 60] [--eps 4]
 * BENCH_PGBOUNCER_URL: the pooler, in front of the same server as BENCH_DATABASE_URL / TEST_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:6432/postgres; `.ci/pgbouncer` starts one).
 */
import { parseArgs } from "node:util";
import { createDatabase, log, makeWorkDir, percentile, round, sleep, startReceiver } from "./support.js";
import { hookUrls, publishOne, setupProject, startHookline } from "./scenarios.js";

const { values } = parseArgs({ options: { events: { type: "string" }, eps: { type: "string" } } });
const EVENTS = Number(values.events ?? 60);
const EPS = Number(values.eps ?? 4);
const POOLER = process.env.BENCH_PGBOUNCER_URL ?? "postgres://postgres@127.0.0.1:6432/postgres";

const CASES = {
  direct: () => ({}),
  pooler_listen_url: (db) => ({ DATABASE_URL: through(db.url), HOOKLINE_PG_POOLER: "transaction", HOOKLINE_PG_LISTEN_URL: db.url }),
  pooler_polling: (db) => ({ DATABASE_URL: through(db.url), HOOKLINE_PG_POOLER: "transaction" }),
};

/** The same database, through the pooler. */
function through(directUrl) {
  const url = new URL(POOLER);
  url.pathname = new URL(directUrl).pathname;
  return url.toString();
}

const receiver = await startReceiver();
const results = {};
try {
  for (const [name, envOf] of Object.entries(CASES)) {
    const workDir = makeWorkDir(`pooler-${name}`);
    const db = await createDatabase("postgres", workDir);
    const h = await startHookline("postgres", receiver, { label: name, workers: 1, db, workDir, env: envOf(db) });
    try {
      await setupProject(h.api, "lat", hookUrls(receiver, 1));
      await publishOne(h.api, "lat", 0, false); // warm-up: connections, prepared plans
      await receiver.waitFor(1, 30_000);
      await receiver.reset();
      for (let i = 1; i <= EVENTS; i++) {
        await publishOne(h.api, "lat", i, true);
        await sleep(1000 / EPS);
      }
      await receiver.waitFor(EVENTS, 60_000);
      const { latencies } = await receiver.stats(true);
      latencies.sort((a, b) => a - b);
      const at = (p) => round(percentile(latencies, p));
      results[name] = { p50: at(0.5), p90: at(0.9), max: round(latencies.at(-1)), samples: latencies.length };
      log(name, JSON.stringify(results[name]));
    } finally {
      await h.stop();
      await db.drop();
    }
  }
} finally {
  receiver.close();
}
console.log(JSON.stringify({ events: EVENTS, eps: EPS, latency_ms: results }, null, 2));
