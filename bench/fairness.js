/**
 * The two scenarios of "one bad endpoint or one busy tenant must not hold up the others":
 *   - `fairness`: a quiet project's delay (publish call start → the receiver has the body) behind
 *     another project's 10,000 queued deliveries, over 20 probes.
 *   - `isolation_burst`: healthy deliveries' latency during a burst of events to a project where four
 *     webhooks hang, against the same burst to the healthy webhooks alone.
 */
import { PUBLISHERS, WEBHOOKS, hookUrls, publishMany, publishOne, setupProject, startHookline } from "./scenarios.js";
import { percentile, sleep } from "./support.js";

/** Waits until the receiver has recorded `n` latency samples; answers them sorted. */
async function latencies(receiver, n, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { latencies: l } = await receiver.stats(true);
    if (l.length >= n) return l.sort((a, b) => a - b);
    if (Date.now() > deadline) throw new Error(`only ${l.length} of ${n} timed deliveries arrived within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const summary = (sorted) => ({ p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1), samples: sorted.length });

/**
 * `fairness`: `backlogEvents` × 5 webhooks of project "busy" are queued by `serve --no-worker`; a fresh
 * `serve` (with its worker) starts draining them, and once the first has arrived project "quiet"
 * publishes `probes` single events, one every `spacingMs`, each timed from its publish call.
 */
export async function fairness(dialect, receiver, { backlogEvents = 2000, probes = 20, spacingMs = 50 } = {}) {
  const total = backlogEvents * WEBHOOKS;
  const queue = await startHookline(dialect, receiver, { label: "fairness-queue", serveWorker: false });
  try {
    await setupProject(queue.api, "busy", hookUrls(receiver, WEBHOOKS));
    await setupProject(queue.api, "quiet", [`${receiver.origins[0]}/quiet`]);
    await publishMany(queue.api, "busy", backlogEvents);
  } finally {
    await queue.stop();
  }
  await receiver.reset();
  const h = await startHookline(dialect, receiver, { label: "fairness", db: queue.db, workDir: queue.workDir });
  try {
    await receiver.waitFor(1, 30_000); // the backlog is being worked
    const atFirst = total - (await receiver.stats()).unique;
    const calls = [];
    for (let i = 0; i < probes; i++) {
      calls.push(publishOne(h.api, "quiet", i, true));
      await sleep(spacingMs);
    }
    await Promise.all(calls);
    const s = await receiver.stats(true);
    const atLast = Math.max(0, total - (s.unique - s.latencies.length));
    return { ...summary(await latencies(receiver, probes)), backlog_at_first_probe: atFirst, backlog_at_last_probe: atLast };
  } finally {
    await h.stop();
    await h.drop();
  }
}

/**
 * `isolation_burst`: `events` events published at once (32 clients) to a project of 4 healthy
 * webhooks, then the same burst to a project of the same 4 healthy webhooks plus 4 that hang
 * (attempts time out after `timeoutMs`). Latency of the healthy deliveries, both runs. Twice, each
 * on a fresh `serve` (so that the first layout's hanging backlog is not the second one's): every
 * webhook on an origin of its own, and every webhook (healthy and hanging) on one shared origin,
 * differing only by path (`shared`). `serve` runs with its default pool size.
 */
export async function isolationBurst(dialect, receiver, { events = 60, timeoutMs = 5000 } = {}) {
  const own = await burstLayout(
    dialect,
    receiver,
    { events, timeoutMs, label: "burst" },
    (n) => hookUrls(receiver, n),
    receiver.hangUrls.map((u, i) => `${u}/hang/${i + 1}`),
  );
  const shared = await burstLayout(
    dialect,
    receiver,
    { events, timeoutMs, label: "burst-shared" },
    (n) => Array.from({ length: n }, (_, i) => `${receiver.origins[0]}/hook/${i + 1}`),
    Array.from({ length: 4 }, (_, i) => `${receiver.origins[0]}/hang/${i + 1}`),
  );
  return { ...own, timeout_ms: timeoutMs, shared };
}

async function burstLayout(dialect, receiver, { events, timeoutMs, label }, healthyUrls, hangUrls) {
  // Hookline's own default pool (HOOKLINE_CONCURRENCY unset), not the harness's 64: how many
  // attempts may hang before healthy ones wait is what a default deployment meets.
  const env = { HOOKLINE_CONCURRENCY: undefined, HOOKLINE_TIMEOUT_MS: String(timeoutMs), HOOKLINE_MAX_ACTIVE_WEBHOOKS: "8" };
  const h = await startHookline(dialect, receiver, { label, env });
  try {
    const healthy = healthyUrls(4);
    await setupProject(h.api, "burst-base", healthy);
    await setupProject(h.api, "burst-hang", [...healthy, ...hangUrls]);
    const measure = async (projectId) => {
      await receiver.reset();
      await publishMany(h.api, projectId, events, PUBLISHERS, true);
      return summary(await latencies(receiver, events * 4));
    };
    const base = await measure("burst-base");
    const hang = await measure("burst-hang");
    const hung = (await receiver.stats()).hung;
    return { base, hang, hung_requests: hung, p99_ratio: hang.p99 / base.p99 };
  } finally {
    await h.stop(1000); // hanging attempts are abandoned (SIGKILL after 1 s)
    await h.drop();
  }
}
