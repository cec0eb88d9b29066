/**
 * Model-based test of the delivery scheduler (fast-check `commands`, shrinking on): the real Worker
 * (delivery/worker.ts: its claim passes, slots, suspect share and outcome recorder) on both stores,
 * two of them with small pools, each with a fake sender whose attempts end only when a command says
 * so (success, 500, 503 with Retry-After, time-out, 410 Gone) and an injected clock. A reference
 * model predicts every delivery's state, every webhook's enabled flag and in-flight limit and every
 * log entry; what the workers claim is not predicted (the claim rotates webhooks at random) but
 * checked. After every command:
 *  - state: the database equals the model (status, attempts, retry times, leases, auto-disables,
 *    in-flight limits, log entries per delivery and outcome), so a success recorded as `failed`, a
 *    retry at the wrong time or a lost log entry fails;
 *  - claims: each attempt sent was claimable in the model (pending, due, lease free or expired) and
 *    carries the next attempt number;
 *  - effective limit: after a claim pass, a webhook that got attempts has at most
 *    min(HOOKLINE_WEBHOOK_CONCURRENCY, its adaptive limit) live leases, counted across both workers;
 *  - work conservation: a worker with a free slot after its claim pass leaves no webhook with a due,
 *    free delivery and a free slot (a suspect webhook only while the worker's suspect share has room);
 *  - per-project fair shares when demand exceeds slots (the worker's slots are full). The claim
 *    (store/queue/fair-share.ts) hands out slots round-robin across projects, one per turn, a project
 *    leaving the round only when none of its webhooks can take one more; consecutive claims resume
 *    after the last project served. So a project P that still has a claimable, non-suspect webhook
 *    after the pass took part in every turn, and any other project Q got at most one attempt more
 *    than P in the pass — plus the turns P lost on its webhooks that ran out of due rows (a share
 *    counts a webhook's free slots, not its rows): new(Q) <= new(P) + 1 + Σ free slots of P's
 *    webhooks that got attempts and have no due row left;
 *  - late records after a lease takeover: an attempt outliving its lease (taken over by the other
 *    worker) is still ended and recorded: its log entry is added, and settle's lease guard leaves the
 *    delivery as the attempt that holds the lease made it (checked by the state comparison).
 * After the commands every attempt succeeds and time moves on until no delivery is pending.
 *
 * Adding an invariant: a function of (model, window) that throws, called from `afterCommand` (a
 * window is what one worker sent in the command just run). Adding a delivery policy (a rate limit,
 * FIFO, a payload filter): set it on the webhooks in beforeAll or with a command like SetLimit,
 * mirror it in the model (`claimable` for what may be claimed, `applyBatch` for what an outcome
 * does), and add its invariant.
 *
 * What the invariants caught when the code was deliberately broken (15 runs, both stores, shrunk):
 *  - a claim blind to projects (fair-share.ts putting every candidate in one project, so slots go
 *    round-robin by webhook; or webhooks in id order, each taking all its free slots): the fair-share
 *    check, e.g. pools [1, 2]: publish(mp1, 1), publish(mp0, 1), poll(w1) → "project mp0 got 2
 *    attempts, mp1 got 0 and still has claimable work";
 *  - a claim ignoring the adaptive limit (candidates.ts taking the cap as every webhook's limit): the
 *    effective-limit check, pools [1, 1]: publish(mp0, 3), poll(w1), end(w1, 0, timeout), poll(w0) →
 *    "webhook 0 has 2 live leases after a claim (cap 3, adaptive limit 1)";
 *  - recording without the lease guard (record-outcomes.ts and settle.ts no longer comparing the
 *    lease token): the state check, pools [1, 1]: publish(mp0, 1), poll(w0), takeover(from w0),
 *    end(w0, 0, success) → the late success made the delivery `succeeded` while the model (and the
 *    guard) keep it pending under w1's lease;
 *  - a worker claiming once per pass (worker.ts not claiming again while a claim says `more`): the
 *    work-conservation check, pools [1, 3]: publish(mp0, 1), publish(mp1, 2), poll(w1) → "worker 1
 *    has 1 free slots, yet webhook 4 has a due, free delivery and a free slot".
 *
 * The delivery policies (a SetPolicy command gives a webhook a rate limit of 2/s, FIFO or a payload
 * filter; 30 runs per store for each mutation, shrunk):
 *  - no start beyond the rate: the claim times counted against a rate limit (the injected clock, so
 *    exact), in every window, within per_second × t + max(1, per_second). A claim ignoring the rate
 *    limit (rate-limit.ts not lowering the limit): policy(hook 0, rate), publish(mp0, 3), poll(w0) →
 *    "webhook 0 (rate 2/s) started 3 attempts in 0 s; at most 2 allowed";
 *  - FIFO order and single flight: an attempt of a FIFO webhook is its head (oldest pending by
 *    run_at, id) and the only one of it in flight. A claim that forgets FIFO (fifo.ts neither capping
 *    the limit at 1 nor leasing the head by id): publish(mp0, 2), policy(hook 0, fifo), poll(w1) →
 *    "FIFO webhook 0 got dlv_… while another attempt of it is in flight". A FIFO retry that
 *    does not hold the line (record-outcomes.ts not asking settle to keep run_at): caught first by the
 *    state comparison, publish(mp0, 1), poll(w1), policy(hook 0, fifo), end(w1, 0, failure) → "run_at
 *    of dlv_… expected 10870204 to be 10869204" (the retry moved out of its place in line);
 *  - filters never create deliveries: the fan-out of every publish equals the model's (enabled, in
 *    the project, and the filter matching). Fan-out ignoring filters (domain/fan-out.ts):
 *    policy(hook 0, filter), publish(mp0, 1) → "fan-out: expected [ …(3) ] to deeply equal [ …(2) ]".
 *  Capping a FIFO webhook's limit at 1 alone is redundant (the claim leases only its head, by id) and
 *  that mutation alone passes, as it should.
 *
 * HOOKLINE_MODEL_RUNS sets the number of runs per store (default 15).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttemptJob, SentAttempt } from "../../src/delivery/attempt-job.js";
import type { AttemptResult } from "../../src/delivery/sender.js";
import { SUSPECT_SHARE, Worker, type AttemptSender } from "../../src/delivery/worker.js";
import { nextInflightLimit } from "../../src/domain/inflight-limit.js";
import { advanceTat, rateAllowance } from "../../src/domain/rate-limit.js";
import { worstWindow } from "../helpers/rate-window.js";
import { createContext } from "../../src/services/context.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const RUNS = Number(process.env.HOOKLINE_MODEL_RUNS ?? 15);
const CAP = 3;
const TIMEOUT = 1_000;
const LEASE = TIMEOUT + 5_000;
const DELAYS = [1_000, 2_000];
const MAX_ATTEMPTS = DELAYS.length + 1;
const RETRY_AFTER_S = 3;
const EVENT = "test-run.completed";
const PROJECTS: [string, number][] = [
  ["mp0", 3],
  ["mp1", 2],
  ["mp2", 1],
];
const WORKERS = 2;
/** The rate-limited webhooks' rate: a whole number of ms per start, so the model's arithmetic is the claim's. */
const RATE = 2;
/** The filtered webhooks' filter: events published with subject.i >= 2 only. */
const FILTER = { "subject.i": { $gte: 2 } };
type Policy = "none" | "rate" | "fifo" | "filter";

type Kind = "success" | "failure" | "retry-after" | "timeout" | "gone";
type Status = "pending" | "succeeded" | "failed" | "cancelled";

interface MDelivery {
  id: string;
  hook: number;
  status: Status;
  attempts: number;
  runAt: number;
  lease: { worker: number; until: number } | null;
  /** A FIFO retry waits here (lease_until, no token), keeping its run_at: its place in line. */
  holdUntil: number | null;
  logs: { ok: number; failed: number };
}

interface MHook {
  id: string;
  project: string;
  enabled: boolean;
  reason: string | null;
  limit: number | null;
  /** Delivery policies (SetPolicy): a rate limit with its state and the claim times counted against it, FIFO, a payload filter. */
  rate: number | null;
  tat: number | null;
  starts: number[];
  fifo: boolean;
  filter: boolean;
}

interface MAttempt {
  key: number;
  deliveryId: string;
  hook: number;
  /** Its webhook was suspect (adaptive limit set) when claimed: it counts against the worker's suspect share. */
  suspect: boolean;
}

interface Model {
  hooks: MHook[];
  deliveries: Map<string, MDelivery>;
  /** Per worker, its attempts in flight in the order its sender got them. */
  inflight: MAttempt[][];
  pools: number[];
}

/** A sender whose attempts end when the test says so; aborted ones (worker stop) reject. */
class FakeSender implements AttemptSender {
  private ends = new Map<number, (sent: SentAttempt) => void>();
  private sent: { key: number; job: AttemptJob }[] = [];
  private next = 0;

  send(job: AttemptJob, signal?: AbortSignal): Promise<SentAttempt> {
    const key = ++this.next;
    this.sent.push({ key, job });
    return new Promise((resolve, reject) => {
      this.ends.set(key, resolve);
      signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
    });
  }

  /** The attempts sent since the last call. */
  take(): { key: number; job: AttemptJob }[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  end(key: number, result: AttemptResult): void {
    this.ends.get(key)!({ headers: {}, result });
    this.ends.delete(key);
  }
}

interface Real {
  workers: Worker[];
  senders: FakeSender[];
  /** Each worker's lease token, learnt from the first row it leased. */
  tokens: (string | null)[];
}

function resultOf(kind: Kind): AttemptResult {
  const base = { durationMs: 5, response: null, timedOut: false, error: null };
  if (kind === "success") return { ...base, success: true, statusCode: 200 };
  if (kind === "timeout") return { ...base, success: false, statusCode: null, timedOut: true, error: "timeout" };
  const status = kind === "failure" ? 500 : kind === "gone" ? 410 : 503;
  const headers: Record<string, string> = kind === "retry-after" ? { "retry-after": String(RETRY_AFTER_S) } : {};
  return { ...base, success: false, statusCode: status, error: `HTTP ${status}`, response: { status, headers, body: "", truncated: false } };
}

/** A seeded Math.random (mulberry32): the claim's rotation repeats when fast-check replays a run to shrink it. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(DIALECTS)("scheduler model (%s)", (dialect) => {
  let hl: TestHookline;
  let clock = 10_000_000;
  const hookIds: { id: string; project: string }[] = [];
  const random = Math.random;

  beforeAll(async () => {
    hl = await startHookline({
      dialect,
      now: () => clock,
      env: {
        HOOKLINE_WEBHOOK_CONCURRENCY: String(CAP),
        HOOKLINE_RETRY_DELAYS: DELAYS.map((d) => d / 1000).join(","),
        HOOKLINE_TIMEOUT_MS: String(TIMEOUT),
      },
    });
    for (const [project, n] of PROJECTS) {
      await hl.project(project);
      for (let i = 0; i < n; i++) {
        const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, { name: `h${i}`, events: [EVENT], url: "https://127.0.0.1:1/x" });
        expect(res.status).toBe(201);
        hookIds.push({ id: res.body.id, project });
      }
    }
  });
  afterAll(async () => {
    Math.random = random;
    await hl?.close();
  });

  const db = () => hl.runtime.ctx.store.db;
  const effLimit = (h: MHook) => Math.min(h.fifo ? 1 : CAP, h.limit ?? CAP);
  const suspectSlots = (pool: number) => Math.max(1, Math.floor(pool * SUSPECT_SHARE));
  const claimable = (d: MDelivery, at = clock) =>
    d.status === "pending" && d.runAt <= at && (d.lease === null || d.lease.until <= at) && (d.holdUntil === null || d.holdUntil <= at);
  /** A FIFO webhook's head: its oldest pending delivery by creation (run_at, then id). */
  const headOf = (m: Model, hook: number) =>
    [...m.deliveries.values()].filter((d) => d.hook === hook && d.status === "pending").sort((a, b) => a.runAt - b.runAt || (a.id < b.id ? -1 : 1))[0];
  const live = (m: Model, hook: number) =>
    [...m.deliveries.values()].filter((d) => d.hook === hook && d.status === "pending" && d.lease && d.lease.until > clock).length;
  /** Has a due, free delivery and a free slot: a claim may lease it now. */
  const hookClaimable = (m: Model, hook: number) => {
    const h = m.hooks[hook];
    if (live(m, hook) >= effLimit(h)) return false;
    if (h.rate !== null && rateAllowance(h.rate, h.tat, clock).free === 0) return false;
    if (h.fifo) return headOf(m, hook) !== undefined && claimable(headOf(m, hook)!);
    return [...m.deliveries.values()].some((d) => d.hook === hook && claimable(d));
  };
  /**
   * A worker holding an attempt whose delivery it could claim again (its lease expired) is not
   * stepped: in production an attempt ends at the timeout, well inside its lease, but the fake
   * sender can hold one past it, and the worker keys its slots by delivery id. The other worker may
   * take the delivery over meanwhile; ending that old attempt then makes the late record.
   */
  const holdsClaimable = (m: Model, w: number, except: Set<number> = new Set(), at = clock) =>
    m.inflight[w].some((a) => !except.has(a.key) && claimable(m.deliveries.get(a.deliveryId)!, at));

  /** Records what worker `w` sent in this command into the model and checks each was claimable. */
  function observe(m: Model, r: Real, w: number): MAttempt[] {
    const got: MAttempt[] = [];
    for (const { key, job } of r.senders[w].take()) {
      const d = m.deliveries.get(job.deliveryId);
      if (!d) throw new Error(`worker ${w} sent unknown delivery ${job.deliveryId}`);
      if (!claimable(d)) throw new Error(`worker ${w} sent ${d.id}, which is not claimable (${JSON.stringify(d)}, now ${clock})`);
      if (job.attempt !== d.attempts + 1) throw new Error(`${d.id} sent as attempt ${job.attempt} after ${d.attempts} attempts`);
      const hook = m.hooks[d.hook];
      if (!hook.enabled) throw new Error(`${d.id} sent to disabled webhook ${hook.id}`);
      // FIFO: one in flight, and only ever its head.
      if (hook.fifo && live(m, d.hook) > 0) throw new Error(`FIFO webhook ${d.hook} got ${d.id} while another attempt of it is in flight`);
      if (hook.fifo && headOf(m, d.hook)!.id !== d.id) throw new Error(`FIFO webhook ${d.hook} got ${d.id} before its head ${headOf(m, d.hook)!.id}`);
      d.lease = { worker: w, until: clock + LEASE };
      d.holdUntil = null;
      if (hook.rate !== null) {
        hook.starts.push(clock);
        hook.tat = advanceTat(hook.rate, hook.tat, clock, 1);
      }
      const a = { key, deliveryId: d.id, hook: d.hook, suspect: hook.limit !== null };
      m.inflight[w].push(a);
      got.push(a);
    }
    return got;
  }

  /** What recordOutcomes does with one batch of outcomes, in its order (delivery/record-outcomes.ts). */
  function applyBatch(m: Model, w: number, batch: { a: MAttempt; kind: Kind }[]): void {
    const before = new Map(batch.map(({ a }) => [a.deliveryId, { ...m.deliveries.get(a.deliveryId)! }]));
    const ended: { d: MDelivery; disable: string | null }[] = [];
    for (const { a, kind } of batch) {
      const d = m.deliveries.get(a.deliveryId)!;
      if (kind === "success") d.logs.ok++;
      else d.logs.failed++;
      const was = before.get(d.id)!;
      // Settle's lease guard: only the worker whose token the row still carries moves it on.
      if (was.status !== "pending" || was.lease?.worker !== w) continue;
      d.attempts++;
      d.lease = null;
      if (kind === "success") d.status = "succeeded";
      else if (kind !== "gone" && d.attempts < MAX_ATTEMPTS) {
        const due = clock + Math.max(DELAYS[d.attempts - 1], kind === "retry-after" ? RETRY_AFTER_S * 1000 : 0);
        // A FIFO retry keeps its place (run_at) and waits in lease_until, holding the line.
        if (m.hooks[d.hook].fifo) d.holdUntil = due;
        else d.runAt = due;
      } else {
        d.status = "failed";
        ended.push({ d, disable: kind === "gone" ? "gone" : "failures" });
      }
    }
    const results = new Map<number, { success: boolean; timedOut: boolean }[]>();
    for (const { a, kind } of batch) results.set(a.hook, [...(results.get(a.hook) ?? []), { success: kind === "success", timedOut: kind === "timeout" }]);
    for (const [hook, list] of results) m.hooks[hook].limit = nextInflightLimit(m.hooks[hook].limit, CAP, list);
    for (const { d, disable } of ended) {
      const hook = m.hooks[d.hook];
      if (!hook.enabled) continue;
      hook.enabled = false;
      hook.reason = disable;
      cancelPending(m, d.hook, d.id);
    }
  }

  function cancelPending(m: Model, hook: number, except?: string): void {
    for (const x of m.deliveries.values()) {
      if (x.hook === hook && x.status === "pending" && x.id !== except) Object.assign(x, { status: "cancelled", lease: null, holdUntil: null });
    }
  }

  /** The database equals the model. */
  async function checkState(m: Model, r: Real): Promise<void> {
    const rows = await db().selectFrom("deliveries").select(["id", "status", "attempts", "run_at", "lease_token", "lease_until"]).execute();
    expect(rows.length, "deliveries in the table").toBe(m.deliveries.size);
    for (const row of rows) {
      const d = m.deliveries.get(row.id);
      if (!d) throw new Error(`unknown delivery ${row.id}`);
      const where = `${row.id} (model ${JSON.stringify(d)}, now ${clock})`;
      expect(row.status, `status of ${where}`).toBe(d.status);
      expect(row.attempts, `attempts of ${where}`).toBe(d.attempts);
      expect(Number(row.run_at), `run_at of ${where}`).toBe(d.runAt);
      if (d.lease === null) {
        expect(row.lease_token, `lease of ${where}`).toBeNull();
        if (d.status === "pending") expect(row.lease_until == null ? null : Number(row.lease_until), `held until (lease_until) of ${where}`).toBe(d.holdUntil);
        continue;
      }
      r.tokens[d.lease.worker] ??= row.lease_token;
      expect(row.lease_token, `lease of ${where}`).toBe(r.tokens[d.lease.worker]);
      expect(Number(row.lease_until), `lease_until of ${where}`).toBe(d.lease.until);
    }
    const hooks = await db().selectFrom("webhooks").select(["id", "enabled", "disabled_reason", "inflight_limit"]).execute();
    for (const h of m.hooks) {
      const row = hooks.find((x) => x.id === h.id)!;
      expect({ enabled: row.enabled === 1, reason: row.disabled_reason, limit: row.inflight_limit }, `webhook ${h.id}`).toEqual({
        enabled: h.enabled,
        reason: h.reason,
        limit: h.limit,
      });
    }
    const logs = await db()
      .selectFrom("log_entries")
      .select(["delivery_id", "success", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy(["delivery_id", "success"])
      .execute();
    const got = new Map<string, { ok: number; failed: number }>();
    for (const l of logs) {
      const c = got.get(l.delivery_id!) ?? { ok: 0, failed: 0 };
      c[l.success ? "ok" : "failed"] += Number(l.n);
      got.set(l.delivery_id!, c);
    }
    for (const d of m.deliveries.values()) expect(got.get(d.id) ?? { ok: 0, failed: 0 }, `log entries of ${d.id}`).toEqual(d.logs);
  }

  /** The claim invariants for worker `w`, whose claim pass has just ended having sent `sent`. */
  function checkClaims(m: Model, r: Real, w: number, sent: MAttempt[]): void {
    expect(r.workers[w].activeAttempts, `worker ${w}'s attempts in flight`).toBe(m.inflight[w].length);
    const hooks = m.hooks.map((_, i) => i);
    // Effective limit, across both workers.
    for (const h of new Set(sent.map((a) => a.hook))) {
      const n = live(m, h);
      if (n > effLimit(m.hooks[h])) throw new Error(`webhook ${h} has ${n} live leases after a claim (cap ${CAP}, adaptive limit ${m.hooks[h].limit})`);
    }
    const pool = m.pools[w];
    const suspectRoom = m.inflight[w].filter((a) => a.suspect).length < suspectSlots(pool);
    if (m.inflight[w].length < pool) {
      // Work conservation.
      for (const h of hooks) {
        if (hookClaimable(m, h) && (m.hooks[h].limit === null || suspectRoom)) {
          throw new Error(`worker ${w} has ${pool - m.inflight[w].length} free slots, yet webhook ${h} has a due, free delivery and a free slot`);
        }
      }
      return;
    }
    // Per-project fair shares.
    const newOf = new Map<string, number>();
    for (const a of sent) newOf.set(m.hooks[a.hook].project, (newOf.get(m.hooks[a.hook].project) ?? 0) + 1);
    for (const [p] of PROJECTS) {
      const mine = hooks.filter((h) => m.hooks[h].project === p);
      if (!mine.some((h) => m.hooks[h].limit === null && hookClaimable(m, h))) continue;
      const lost = mine
        .filter((h) => sent.some((a) => a.hook === h) && ![...m.deliveries.values()].some((d) => d.hook === h && claimable(d)))
        .reduce((n, h) => n + Math.max(0, effLimit(m.hooks[h]) - live(m, h)), 0);
      for (const [q, n] of newOf) {
        if (n > (newOf.get(p) ?? 0) + 1 + lost) {
          throw new Error(
            `unfair claim by worker ${w}: project ${q} got ${n} attempts, ${p} got ${newOf.get(p) ?? 0} and still has claimable work (slack ${lost})`,
          );
        }
      }
    }
  }

  /** No start beyond the rate: the claim times counted against each rate limit, in every window. */
  function checkRates(m: Model): void {
    for (const [i, h] of m.hooks.entries()) {
      if (h.rate === null) continue;
      const w = worstWindow(h.starts, h.rate);
      if (w.count > w.allowed) throw new Error(`webhook ${i} (rate ${h.rate}/s) started ${w.count} attempts in ${w.seconds} s; at most ${w.allowed} allowed`);
    }
  }

  async function afterCommand(m: Model, r: Real, filled: number[]): Promise<void> {
    const sent = new Map(filled.map((w) => [w, observe(m, r, w)]));
    checkRates(m);
    for (let w = 0; w < WORKERS; w++) if (!filled.includes(w) && r.senders[w].take().length > 0) throw new Error(`worker ${w} claimed unasked`);
    await checkState(m, r);
    for (const [w, s] of sent) checkClaims(m, r, w, s);
  }

  type Cmd = fc.AsyncCommand<Model, Real>;

  class Publish implements Cmd {
    constructor(
      readonly project: number,
      readonly events: number,
    ) {}
    check = () => true;
    async run(m: Model, r: Real) {
      const [p] = PROJECTS[this.project];
      for (let i = 0; i < this.events; i++) {
        const res = await hl.api("POST", `/api/v1/projects/${p}/events`, { event: EVENT, subject: { i } });
        expect(res.status).toBe(202);
        const rows = await db().selectFrom("deliveries").select(["id", "webhook_id"]).where("event_id", "=", res.body.id).execute();
        // Fan-out: enabled webhooks of the project, and a filter never creates a delivery for an event it does not match.
        const expected = m.hooks.flatMap((h, k) => (h.project === p && h.enabled && (!h.filter || i >= 2) ? [k] : []));
        expect(rows.map((x) => x.webhook_id).sort(), "fan-out").toEqual(expected.map((k) => m.hooks[k].id).sort());
        for (const row of rows) {
          const hook = m.hooks.findIndex((h) => h.id === row.webhook_id);
          m.deliveries.set(row.id, {
            id: row.id,
            hook,
            status: "pending",
            attempts: 0,
            runAt: clock,
            lease: null,
            holdUntil: null,
            logs: { ok: 0, failed: 0 },
          });
        }
      }
      await afterCommand(m, r, []);
    }
    toString = () => `publish(${PROJECTS[this.project][0]}, ${this.events})`;
  }

  class Poll implements Cmd {
    constructor(readonly worker: number) {}
    check = (m: Readonly<Model>) => !holdsClaimable(m as Model, this.worker);
    async run(m: Model, r: Real) {
      await r.workers[this.worker].settled();
      await afterCommand(m, r, [this.worker]);
    }
    toString = () => `poll(w${this.worker})`;
  }

  /** Ends one attempt in flight (`index` modulo their number) or, with `index` null, all of the worker's. */
  class End implements Cmd {
    constructor(
      readonly worker: number,
      readonly index: number | null,
      readonly kind: Kind,
    ) {}
    private picked(m: Readonly<Model>): MAttempt[] {
      const list = m.inflight[this.worker];
      return this.index === null ? [...list] : list.length === 0 ? [] : [list[this.index % list.length]];
    }
    check = (m: Readonly<Model>) => {
      const ends = this.picked(m);
      return ends.length > 0 && !holdsClaimable(m as Model, this.worker, new Set(ends.map((a) => a.key)));
    };
    async run(m: Model, r: Real) {
      const ends = this.picked(m);
      m.inflight[this.worker] = m.inflight[this.worker].filter((a) => !ends.includes(a));
      // Ended in one turn: the worker records them as one batch, in this order.
      for (const a of ends) r.senders[this.worker].end(a.key, resultOf(this.kind));
      await r.workers[this.worker].settled();
      applyBatch(
        m,
        this.worker,
        ends.map((a) => ({ a, kind: this.kind })),
      );
      await afterCommand(m, r, [this.worker]);
    }
    toString = () => `end(w${this.worker}, ${this.index ?? "all"}, ${this.kind})`;
  }

  class Advance implements Cmd {
    constructor(readonly ms: number) {}
    check = () => true;
    async run(m: Model, r: Real) {
      clock += this.ms;
      await afterCommand(m, r, []);
    }
    toString = () => `advance(${this.ms})`;
  }

  /** Time passes the leases of a worker's attempts in flight (they hang), and the other worker claims. */
  class Takeover implements Cmd {
    constructor(readonly worker: number) {}
    private get other() {
      return (this.worker + 1) % WORKERS;
    }
    check = (m: Readonly<Model>) => m.inflight[this.worker].length > 0 && !holdsClaimable(m as Model, this.other, new Set(), clock + LEASE + 1);
    async run(m: Model, r: Real) {
      clock += LEASE + 1;
      await r.workers[this.other].settled();
      await afterCommand(m, r, [this.other]);
    }
    toString = () => `takeover(from w${this.worker})`;
  }

  class SetEnabled implements Cmd {
    constructor(
      readonly hook: number,
      readonly enabled: boolean,
    ) {}
    check = () => true;
    async run(m: Model, r: Real) {
      const h = m.hooks[this.hook];
      const res = await hl.api("PATCH", `/api/v1/projects/${h.project}/webhooks/${h.id}`, { enabled: this.enabled });
      expect(res.status).toBe(200);
      if (this.enabled && !h.enabled) Object.assign(h, { enabled: true, reason: null, limit: null });
      if (!this.enabled && h.enabled) {
        Object.assign(h, { enabled: false, reason: "manual" });
        cancelPending(m, this.hook);
      }
      await afterCommand(m, r, []);
    }
    toString = () => `${this.enabled ? "enable" : "disable"}(hook ${this.hook})`;
  }

  /** Another node's recording changed the webhook's adaptive limit (null: none of its own). */
  class SetLimit implements Cmd {
    constructor(
      readonly hook: number,
      readonly limit: number | null,
    ) {}
    check = () => true;
    async run(m: Model, r: Real) {
      await db().updateTable("webhooks").set({ inflight_limit: this.limit }).where("id", "=", m.hooks[this.hook].id).execute();
      m.hooks[this.hook].limit = this.limit;
      await afterCommand(m, r, []);
    }
    toString = () => `setLimit(hook ${this.hook}, ${this.limit})`;
  }

  /** A webhook's delivery policy changes (through the API): the model follows, the rate limit's state carried over as stored. */
  class SetPolicy implements Cmd {
    constructor(
      readonly hook: number,
      readonly policy: Policy,
    ) {}
    check = () => true;
    async run(m: Model, r: Real) {
      const h = m.hooks[this.hook];
      const body = {
        filter: this.policy === "filter" ? FILTER : null,
        rate_limit: this.policy === "rate" ? { per_second: RATE } : null,
        ordering: this.policy === "fifo" ? "fifo" : "none",
      };
      const res = await hl.api("PATCH", `/api/v1/projects/${h.project}/webhooks/${h.id}`, body);
      expect(res.status).toBe(200);
      const row = await db().selectFrom("webhooks").select("rate_limit_tat").where("id", "=", h.id).executeTakeFirstOrThrow();
      Object.assign(h, {
        rate: this.policy === "rate" ? RATE : null,
        tat: row.rate_limit_tat == null ? null : Number(row.rate_limit_tat),
        starts: [],
        fifo: this.policy === "fifo",
        filter: this.policy === "filter",
      });
      await afterCommand(m, r, []);
    }
    toString = () => `policy(hook ${this.hook}, ${this.policy})`;
  }

  const worker = fc.nat(WORKERS - 1);
  const kind = fc.constantFrom<Kind>("success", "failure", "retry-after", "timeout", "gone");
  const commands = [
    fc.tuple(fc.nat(PROJECTS.length - 1), fc.integer({ min: 1, max: 4 })).map(([p, n]) => new Publish(p, n)),
    fc.tuple(fc.nat(PROJECTS.length - 1), fc.integer({ min: 1, max: 4 })).map(([p, n]) => new Publish(p, n)),
    worker.map((w) => new Poll(w)),
    worker.map((w) => new Poll(w)),
    fc.tuple(worker, fc.nat(7), kind).map(([w, i, k]) => new End(w, i, k)),
    fc.tuple(worker, fc.nat(7), kind).map(([w, i, k]) => new End(w, i, k)),
    fc.tuple(worker, kind).map(([w, k]) => new End(w, null, k)),
    fc.constantFrom(300, 1_100, 2_100, LEASE + 1).map((ms) => new Advance(ms)),
    worker.map((w) => new Takeover(w)),
    fc.tuple(fc.nat(5), fc.boolean()).map(([h, e]) => new SetEnabled(h, e)),
    fc.tuple(fc.nat(5), fc.constantFrom(1, 2, null)).map(([h, l]) => new SetLimit(h, l)),
    fc.tuple(fc.nat(5), fc.constantFrom<Policy>("none", "rate", "fifo", "filter")).map(([h, p]) => new SetPolicy(h, p)),
    fc.tuple(fc.nat(5), fc.constantFrom<Policy>("rate", "fifo")).map(([h, p]) => new SetPolicy(h, p)),
  ];

  it("the real workers keep every invariant under random publishes, outcomes, lease takeovers, limits and disables", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: WORKERS, maxLength: WORKERS }),
        fc.integer(),
        fc.commands(commands, { maxCommands: 40, size: "max" }),
        async (pools, seed, cmds) => {
          const r = await setup(pools, seed);
          const m: Model = {
            hooks: hookIds.map((h) => ({ ...h, enabled: true, reason: null, limit: null, rate: null, tat: null, starts: [], fifo: false, filter: false })),
            deliveries: new Map(),
            inflight: pools.map(() => []),
            pools,
          };
          try {
            await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
            await drain(m, r);
          } finally {
            for (const w of r.workers) await w.stop(0);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 900_000);

  async function setup(pools: number[], seed: number): Promise<Real> {
    Math.random = seeded(seed);
    const ctx = hl.runtime.ctx;
    await db().deleteFrom("log_entries").execute();
    await db().deleteFrom("deliveries").execute();
    await db().deleteFrom("events").execute();
    await db().deleteFrom("notifications").execute();
    await db()
      .updateTable("webhooks")
      .set({
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
        inflight_limit: null,
        filter: null,
        rate_limit_per_second: null,
        rate_limit_tat: null,
        ordering: "none",
      })
      .execute();
    const senders = pools.map(() => new FakeSender());
    const workers = pools.map((concurrency, i) => {
      // Its own context: publishes through the API do not wake it; commands step it.
      const own = createContext(ctx.config, ctx.store, ctx.log, () => clock);
      return new Worker(own, senders[i], hl.runtime.metrics, { concurrency, perWebhookConcurrency: CAP, pollIntervalMs: 3_600_000 });
    });
    const r: Real = { workers, senders, tokens: pools.map(() => null) };
    // Started with an empty queue: the first claim pass finds nothing.
    for (const w of workers) w.start();
    for (const w of workers) await w.settled();
    return r;
  }

  /** Every attempt succeeds and time moves on: every delivery ends, as the model says. */
  async function drain(m: Model, r: Real): Promise<void> {
    for (let round = 0; round < 400; round++) {
      const pending = [...m.deliveries.values()].some((d) => d.status === "pending");
      if (!pending && m.inflight.every((l) => l.length === 0)) return;
      for (let w = 0; w < WORKERS; w++) {
        if (m.inflight[w].length > 0) await new End(w, null, "success").run(m, r);
        else await new Poll(w).run(m, r);
      }
      if (m.inflight.every((l) => l.length === 0)) {
        clock += DELAYS[DELAYS.length - 1] + LEASE;
        await afterCommand(m, r, []);
      }
    }
    throw new Error("deliveries still pending after the drain");
  }
});
