import type { Kysely } from "kysely";
import { namedPostgres, rawRows } from "../fixed-statement.js";
import { candidateOf, candidatesText, dueAndFreeText, liveLeasesText } from "../queue/candidates.js";
import { fairShares } from "../queue/fair-share.js";
import { limitByFifo, splitFifoShares } from "../queue/fifo.js";
import { limitByRate } from "../queue/rate-limit.js";
import { transactionWith } from "./transaction.js";
import { claimedDelivery } from "../queue/claimed.js";
import type { Database } from "../schema.js";
import type { AttemptTarget, ClaimRequest, ClaimResult, ClaimedDelivery, ClaimedState } from "../queue/types.js";

/**
 * Four round trips: the `begin` with its setting, two statements, the commit. The first statement
 * finds the candidate webhooks and locks their rows (FOR NO KEY UPDATE SKIP LOCKED: a webhook
 * another worker is claiming right now is left to it; publishes, whose foreign-key checks take KEY
 * SHARE, are not held up). The second runs with a snapshot taken after those locks, so it counts
 * every lease any worker committed on these webhooks, caps each share at the free slots it finds,
 * and per webhook leases its oldest due rows (a LATERAL seek into deliveries_webhook_due, LIMIT its
 * share) — a FIFO webhook its head, by id (queue/fifo.ts) — returning what the attempts need and
 * what recording their outcomes needs (queue/record-batch.ts). In the same statement the
 * rate-limited webhooks, still locked, spend their allowance on the rows leased
 * (queue/rate-limit.ts; advanceTat's arithmetic in float8, the same IEEE doubles).
 */
const CANDIDATES = namedPostgres(`${candidatesText("$1::int", "$2::bigint")} for no key update of w skip locked`);

const LEASE = namedPostgres(`
  with share as (
    select * from unnest($1::text[], $2::int[], $3::int[]) as s(webhook_id, n, lim)),
  picked as (
    select p.id from share s cross join lateral (
      select d.id from deliveries d
       where d.webhook_id = s.webhook_id and ${dueAndFreeText("$4::bigint")}
       order by d.run_at
       limit greatest(0, least(s.n, s.lim - ${liveLeasesText("s.webhook_id", "$4::bigint")}))
       for update skip locked) p),
  heads as (
    select d.id from deliveries d where d.id = any($7::text[]) and ${dueAndFreeText("$4::bigint")} for update skip locked),
  claimed as (
    update deliveries d set lease_token = $5, lease_until = $6
      from (select id from picked union all select id from heads) x where d.id = x.id
    returning d.id, d.event_id, d.webhook_id, d.project_id, d."trigger", d.attempts, d.max_attempts, d.run_at, d.retry_delays),
  spent as (
    update webhooks w set rate_limit_tat = ceil(greatest(coalesce(r.tat, $4::bigint), $4::bigint)::float8 + n.n::float8 * (1000::float8 / r.rate))::bigint
      from unnest($8::text[], $9::float8[], $10::bigint[]) as r(id, rate, tat)
      join (select webhook_id, count(*) as n from claimed group by webhook_id) n on n.webhook_id = r.id
     where w.id = r.id)
  select c.*, e.event, e.payload, e.trace_context, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.signing_key, w.enabled,
         w.headers, w.auth, w.auth_secret, w.client_cert, w.client_key, w.inflight_limit,
         (e.id is not null and w.id is not null) as found
    from claimed c
    left join events e on e.id = c.event_id
    left join webhooks w on w.id = c.webhook_id`);

export async function claimPostgres(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimResult> {
  // Right after a burst of publishes the statistics still describe the table as small, and the
  // planner would read a webhook's every pending row with a bitmap scan and sort them, instead of
  // walking deliveries_webhook_due in order and stopping at the share; and it would find the leased
  // rows, their events and webhooks with hash joins over whole tables (a seq scan of deliveries and
  // of events per claim, kept in the cached generic plan while the table grows: the claims slower
  // than 5 ms in docs/performance.md, "PostgreSQL round trips and tail latency"). Index scans and
  // nested loops are the right plan at any size; `set local` ends with the transaction.
  return transactionWith(db, "set local enable_bitmapscan = off; set local enable_hashjoin = off; set local enable_mergejoin = off", async (trx) => {
    const candidates = (await rawRows<Record<string, unknown>>(trx, CANDIDATES, [req.cap, req.now])).map(candidateOf);
    limitByFifo(candidates);
    const wakeAt = limitByRate(candidates, req.now);
    const { quota, lastProject, more } = fairShares(candidates, req.want, req.suspectWant, req.afterProject);
    if (quota.size === 0) return { claimed: [], lastProject, more: false, wakeAt };
    const limitOf = new Map(candidates.map((c) => [c.id, c.limit]));
    const { heads, seeks } = splitFifoShares(quota, candidates);
    const ids = [...seeks.keys()];
    const rated = candidates.filter((c) => c.rate !== null && quota.has(c.id));
    const leased = await rawRows<Omit<ClaimedDelivery, "suspect" | "target"> & AttemptTarget & ClaimedState & { found: boolean }>(trx, LEASE, [
      ids,
      ids.map((id) => seeks.get(id)!),
      ids.map((id) => limitOf.get(id)!),
      req.now,
      req.token,
      req.leaseUntil,
      heads,
      rated.map((c) => c.id),
      rated.map((c) => c.rate),
      rated.map((c) => c.tat),
    ]);
    const suspect = new Set(candidates.filter((c) => c.suspect).map((c) => c.id));
    const claimed = leased.map((r) =>
      claimedDelivery(r, suspect.has(r.webhook_id), r.found ? targetOf(r) : null, { retry_delays: r.retry_delays, inflight_limit: r.inflight_limit }),
    );
    return { claimed, lastProject, more, wakeAt };
  });
}

function targetOf(r: AttemptTarget): AttemptTarget {
  const { event, payload, trace_context, url, secret, previous_secret, previous_secret_expires_at, signing_key, enabled } = r;
  const { headers, auth, auth_secret, client_cert, client_key } = r;
  return {
    event,
    payload,
    trace_context,
    url,
    secret,
    previous_secret,
    previous_secret_expires_at,
    signing_key,
    enabled,
    headers,
    auth,
    auth_secret,
    client_cert,
    client_key,
  };
}
