/**
 * Model-based test of the delivery scheduler: random publishes to three projects, webhooks that
 * answer at once, fail, answer slowly or hang until the timeout, several workers claiming with
 * small pools, worker crashes (their leases stay until they expire) and an injected clock, all
 * driven through the real store operations (enqueue, claim, record outcomes, cancel) on both
 * stores. After every step it checks:
 *  - no row is leased by two workers at once;
 *  - live leases per webhook never exceed its limit, across all workers;
 *  - after a worker's poll, no webhook with a free slot still has a due, unleased delivery, unless
 *    that worker's pool (or its share for webhooks that time out) is full;
 *  - nothing accepted is lost (every published delivery is in the table, none changes its mind once
 *    finished);
 * and at the end, with time moving on, that every delivery is attempted and finishes.
 * HOOKLINE_MODEL_RUNS sets the number of runs (default 15 per store).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordOutcomes, type Outcome } from "../../src/delivery/record-outcomes.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { cancelLeased } from "../../src/store/queue/cancel.js";
import { enqueue } from "../../src/store/queue/enqueue.js";
import type { ClaimedDelivery } from "../../src/store/queue/types.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const RUNS = Number(process.env.HOOKLINE_MODEL_RUNS ?? 15);
const CAP = 3;
const TIMEOUT = 1_000;
const LEASE = TIMEOUT + 5_000;
const SLOW = 300;
const PROJECTS: [string, number][] = [
  ["mp0", 3],
  ["mp1", 2],
  ["mp2", 1],
];

type Behaviour = "healthy" | "failing" | "slow" | "hanging";

type Step =
  | { kind: "publish"; project: number; events: number }
  | { kind: "poll"; worker: number }
  | { kind: "finish"; worker: number }
  | { kind: "crash"; worker: number }
  | { kind: "advance"; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("publish" as const), project: fc.nat(2), events: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("poll" as const), worker: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("finish" as const), worker: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), worker: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(50, 400, 1_100, 2_500, LEASE + 100) }) },
);

interface InFlight {
  d: ClaimedDelivery;
  startedAt: number;
  leaseUntil: number;
}

interface ModelWorker {
  token: string;
  pool: number;
  suspectSlots: number;
  inFlight: Map<string, InFlight>;
  afterProject?: string;
  generation: number;
}

describe.each(DIALECTS)("scheduler model (%s)", (dialect) => {
  let hl: TestHookline;
  let clock = 10_000_000;
  const hooks: { id: string; project: string }[] = [];

  beforeAll(async () => {
    hl = await startHookline({
      dialect,
      now: () => clock,
      env: { HOOKLINE_WEBHOOK_CONCURRENCY: String(CAP), HOOKLINE_RETRY_DELAYS: "1,2", HOOKLINE_TIMEOUT_MS: String(TIMEOUT) },
    });
    for (const [project, n] of PROJECTS) {
      await hl.project(project);
      for (let i = 0; i < n; i++) {
        const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, {
          name: `h${i}`,
          events: ["test-run.completed"],
          url: "https://127.0.0.1:1/x",
        });
        expect(res.status).toBe(201);
        hooks.push({ id: res.body.id, project });
      }
    }
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("keeps every invariant under random publishes, endpoints, workers, crashes and lease expiry", async () => {
    const behavioursArb = fc.array(fc.constantFrom<Behaviour>("healthy", "failing", "slow", "hanging"), { minLength: 6, maxLength: 6 });
    const poolsArb = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 3, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(behavioursArb, poolsArb, fc.array(stepArb, { minLength: 5, maxLength: 40 }), async (behaviours, pools, steps) => {
        await runModel(behaviours, pools, steps);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);

  async function runModel(behaviours: Behaviour[], pools: number[], steps: Step[]): Promise<void> {
    const ctx = hl.runtime.ctx;
    const store = ctx.store;
    const db = store.db;
    await db.deleteFrom("log_entries").execute();
    await db.deleteFrom("deliveries").execute();
    await db.deleteFrom("events").execute();
    await db.deleteFrom("notifications").execute();
    await db.updateTable("webhooks").set({ enabled: 1, disabled_reason: null, disabled_at: null, inflight_limit: null }).execute();
    const behaviour = new Map(hooks.map((h, i) => [h.id, behaviours[i]]));
    let generation = 0;
    const workers: ModelWorker[] = pools.map((pool, i) => ({
      token: `w${i}-0`,
      pool,
      suspectSlots: Math.max(1, Math.floor(pool / 2)),
      inFlight: new Map(),
      generation: 0,
    }));
    const published = new Set<string>();
    const finished = new Map<string, string>();
    let seq = 0;

    const liveLeases = async () =>
      db
        .selectFrom("deliveries")
        .select(["id", "webhook_id", "lease_token"])
        .where("status", "=", "pending")
        .where("lease_token", "is not", null)
        .where("lease_until", ">", clock)
        .execute();

    const limits = async () => {
      const rows = await db.selectFrom("webhooks").select(["id", "inflight_limit", "enabled"]).execute();
      return new Map(rows.map((r) => [r.id, Math.min(r.inflight_limit ?? CAP, CAP)]));
    };

    async function poll(w: ModelWorker): Promise<void> {
      for (;;) {
        const free = w.pool - w.inFlight.size;
        if (free <= 0) break;
        const suspectNow = [...w.inFlight.values()].filter((f) => f.d.suspect).length;
        const res = await claimDeliveries(store, {
          now: clock,
          leaseUntil: clock + LEASE,
          token: w.token,
          want: free,
          suspectWant: Math.max(0, w.suspectSlots - suspectNow),
          cap: CAP,
          afterProject: w.afterProject,
        });
        if (res.lastProject) w.afterProject = res.lastProject;
        for (const d of res.claimed) {
          // No row leased twice: nobody else holds a live lease on it.
          for (const other of workers) {
            const held = other.inFlight.get(d.id);
            if (held && held.leaseUntil > clock) throw new Error(`${d.id} claimed by ${w.token} while ${other.token} holds a live lease`);
            if (held) other.inFlight.delete(d.id); // that lease expired: the other worker's attempt is stale
          }
          w.inFlight.set(d.id, { d, startedAt: clock, leaseUntil: clock + LEASE });
        }
        if (res.claimed.length === 0 || !res.more) break;
      }
      // Within one poll: every webhook with a free slot and a due, free row was served, unless this
      // worker has no room for it.
      const full = w.pool - w.inFlight.size <= 0;
      const suspectFull = [...w.inFlight.values()].filter((f) => f.d.suspect).length >= w.suspectSlots;
      if (full) return;
      const lim = await limits();
      const live = await liveLeases();
      const suspect = new Set((await db.selectFrom("webhooks").select("id").where("inflight_limit", "is not", null).execute()).map((r) => r.id));
      const due = await db
        .selectFrom("deliveries")
        .select(["id", "webhook_id"])
        .where("status", "=", "pending")
        .where("run_at", "<=", clock)
        .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", clock)]))
        .execute();
      for (const d of due) {
        const busy = live.filter((l) => l.webhook_id === d.webhook_id).length;
        if (busy >= lim.get(d.webhook_id)!) continue;
        if (suspect.has(d.webhook_id) && suspectFull) continue;
        throw new Error(`${d.id} of ${d.webhook_id} (${busy} of ${lim.get(d.webhook_id)} in flight) is due and free after a poll of ${w.token}`);
      }
    }

    /** Ends the attempts whose endpoint has answered (or timed out) by now, recording them in one batch. */
    async function finish(w: ModelWorker, all = false): Promise<void> {
      const outcomes: Outcome[] = [];
      for (const [id, f] of w.inFlight) {
        const b = behaviour.get(f.d.webhook_id)!;
        const elapsed = clock - f.startedAt;
        if (f.d.trigger === "event" && f.d.target?.enabled !== 1) {
          await cancelLeased(db, id, w.token, clock);
          w.inFlight.delete(id);
          continue;
        }
        let result: Outcome["result"] | null = null;
        if (b === "healthy" || all) result = attempt(true, false, 5);
        else if (b === "failing") result = attempt(false, false, 5);
        else if (b === "slow" && elapsed >= SLOW) result = attempt(true, false, SLOW);
        else if (b === "hanging" && elapsed >= TIMEOUT) result = attempt(false, true, TIMEOUT);
        if (!result) continue;
        outcomes.push({
          deliveryId: id,
          leaseToken: w.token,
          attempt: f.d.attempts + 1,
          event: "test-run.completed",
          request: { method: "POST", url: "https://127.0.0.1:1/x", headers: {}, body: "{}" },
          result,
          at: clock,
        });
        w.inFlight.delete(id);
      }
      await recordOutcomes(ctx, hl.runtime.metrics, outcomes);
    }

    async function check(): Promise<void> {
      const live = await liveLeases();
      const lim = await limits();
      const perHook = new Map<string, number>();
      for (const l of live) perHook.set(l.webhook_id, (perHook.get(l.webhook_id) ?? 0) + 1);
      for (const [id, n] of perHook) {
        // A limit lowered while attempts were in flight leaves them running: the cap is the ceiling.
        if (n > CAP) throw new Error(`${n} live leases on ${id} (limit ${lim.get(id)}, cap ${CAP})`);
      }
      const rows = await db.selectFrom("deliveries").select(["id", "status"]).execute();
      if (rows.length !== published.size) throw new Error(`${published.size} deliveries published, ${rows.length} in the table`);
      for (const r of rows) {
        if (!published.has(r.id)) throw new Error(`unknown delivery ${r.id}`);
        const was = finished.get(r.id);
        if (was && was !== r.status) throw new Error(`${r.id} went from ${was} to ${r.status}`);
        if (r.status !== "pending") finished.set(r.id, r.status);
      }
    }

    for (const step of steps) {
      const w = "worker" in step ? workers[step.worker] : undefined;
      if (step.kind === "publish") {
        const [project] = PROJECTS[step.project];
        const targets = hooks.filter((h) => h.project === project);
        const enabled = new Set((await db.selectFrom("webhooks").select("id").where("enabled", "=", 1).execute()).map((r) => r.id));
        for (let e = 0; e < step.events; e++) {
          const id = `evt_m${++seq}`;
          const ds = targets.filter((h) => enabled.has(h.id)).map((h) => ({ id: `dlv_m${seq}_${h.id}`, webhookId: h.id, trigger: "event" as const }));
          await enqueue(db, { id, projectId: project, event: "test-run.completed", payload: "{}", now: clock }, ds, {
            maxAttempts: 3,
            retryDelaysMs: [1_000, 2_000],
          });
          for (const d of ds) published.add(d.id);
        }
      } else if (step.kind === "poll") await poll(w!);
      else if (step.kind === "finish") await finish(w!);
      else if (step.kind === "crash") {
        w!.inFlight.clear();
        w!.token = `w${step.worker}-${++generation}`;
      } else clock += step.ms;
      await check();
    }

    // Time moves on, endpoints answer (hanging ones still time out), crashed leases expire: every
    // delivery is attempted and finishes.
    for (let round = 0; round < 60; round++) {
      const pending = await db.selectFrom("deliveries").select("id").where("status", "=", "pending").execute();
      if (pending.length === 0 && workers.every((x) => x.inFlight.size === 0)) break;
      for (const x of workers) await poll(x);
      await check();
      clock += TIMEOUT + 100;
      for (const x of workers) await finish(x, round > 40);
      await check();
      if (round % 5 === 4) clock += LEASE;
    }
    const left = await db.selectFrom("deliveries").select(["id", "status", "attempts"]).execute();
    for (const d of left) {
      if (d.status === "pending") throw new Error(`${d.id} still pending at the end`);
      // Cancelled without an attempt only when its webhook was disabled after failures.
      if (d.attempts === 0 && d.status !== "cancelled") throw new Error(`${d.id} ${d.status} without an attempt`);
    }
  }
});

function attempt(success: boolean, timedOut: boolean, durationMs: number): Outcome["result"] {
  return {
    success,
    timedOut,
    statusCode: success ? 200 : timedOut ? null : 500,
    error: success ? null : timedOut ? "timeout" : "HTTP 500",
    durationMs,
    response: null,
  };
}
