/**
 * The per-webhook cap holds across worker processes: `hookline serve --no-worker` plus three
 * `hookline worker` processes on one PostgreSQL database, HOOKLINE_WEBHOOK_CONCURRENCY=4, and a slow
 * receiver (300 ms per request) that counts the requests it holds at once. The most it ever held
 * must be at most 4 (a cap counted per process would let 3 × 4 = 12 through). Logs the figure.
 * Serial project (vitest.config.ts): the processes' start-up and timing want a quiet machine.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createTestDatabase, DIALECTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { nodeEnv, nodeWarnings, startNodes, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
const CAP = 4;
const EVENTS = 120;

describe.skipIf(!pgEnabled)("per-webhook cap across 3 worker processes (postgres)", () => {
  let db: TestDatabase;
  let rx: Receiver;
  let nodes: HooklineNode[] = [];
  let api: HooklineNode;
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    rx = await startReceiver({
      respond: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(300);
        inFlight--;
        return { status: 200 };
      },
    });
    db = await createTestDatabase("postgres");
    const env = nodeEnv(db.url, rx.ca, { HOOKLINE_WEBHOOK_CONCURRENCY: String(CAP), HOOKLINE_TIMEOUT_MS: "5000" });
    const { apis, workers } = await startNodes(env, { apis: 1, workers: 3 });
    nodes = [...apis, ...workers];
    api = apis[0];
  });
  afterAll(async () => {
    await stopNodes(nodes);
    await rx?.close();
    await db?.drop();
  });

  it(`HOOKLINE_WEBHOOK_CONCURRENCY=${CAP}: one webhook never holds more than ${CAP} requests at once`, async () => {
    onTestFailed(() => console.log(nodeWarnings(nodes)));
    expect((await api.call("PUT", "/api/v1/projects/cap", { name: "cap" })).status).toBe(201);
    const hook = await api.call("POST", "/api/v1/projects/cap/webhooks", { name: "slow", events: ["test-run.completed"], url: `${rx.url}/slow` });
    expect(hook.status).toBe(201);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: EVENTS }, async (_, i) => {
        const res = await api.call("POST", "/api/v1/projects/cap/events", { event: "test-run.completed", subject: { n: i } });
        expect(res.status).toBe(202);
      }),
    );
    // At 4 × (1 request / 300 ms) the 120 deliveries take about 9 s; three uncapped workers, 3 s.
    await eventually(() => new Set(rx.requests.map((r) => r.headers["hookline-delivery"])).size >= EVENTS, 90_000, `${EVENTS} deliveries`);
    const seconds = (Date.now() - started) / 1000;
    console.log(`webhook cap across 3 workers: max ${maxInFlight} requests in flight at once (cap ${CAP}); ${EVENTS} deliveries in ${seconds.toFixed(1)} s`);
    for (const n of nodes) expect(n.alive).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(CAP);
    // The cap was reached (the test would prove nothing if the workers never got near it).
    expect(maxInFlight).toBeGreaterThanOrEqual(2);
  });
});
