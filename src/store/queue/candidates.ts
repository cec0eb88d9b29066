/**
 * The texts both dialects' claims share (claim.ts describes the claim): which rows may be leased,
 * and step 1, the candidate webhooks. Placeholders are the caller's, so each dialect binds its own way.
 */
import type { Candidate } from "./types.js";

/** A delivery row a claim may lease now: pending, due, and not under a live lease (`now`: its placeholder). */
export const dueAndFreeText = (now: string, alias = "d") =>
  `${alias}.status = 'pending' and ${alias}.run_at <= ${now} and (${alias}.lease_until is null or ${alias}.lease_until <= ${now})`;

/** The live leases of the webhook `webhook` names, counted from deliveries_leased (`now`: its placeholder). */
export const liveLeasesText = (webhook: string, now: string) =>
  `(select count(*) from deliveries l where l.webhook_id = ${webhook} and l.lease_token is not null and l.lease_until > ${now})`;

/**
 * A FIFO webhook's head (fifo.ts): its oldest pending delivery by creation (run_at, then id), when
 * that one may start now; null when it may not (in flight, or waiting for its retry) and for every
 * other webhook, whose rows this never reads.
 */
const fifoHeadText = (now: string) => `case when w.ordering = 'fifo' then
      (select case when ${dueAndFreeText(now)} then d.id end from deliveries d
        where d.webhook_id = w.id and d.status = 'pending' order by d.run_at, d.id limit 1) end`;

/**
 * Step 1's query (without PostgreSQL's row locks): every webhook with a due, unleased delivery, with
 * its limit and live leases (fair-share.ts passes over those without a free slot), and what the
 * delivery policies decide with: the rate limit's state (rate-limit.ts) and a FIFO webhook's head
 * (fifo.ts). `cap` and `now`
 * are the placeholders of HOOKLINE_WEBHOOK_CONCURRENCY and the claim's time.
 *
 * Both tests are scalar subqueries run once per webhook row: one seek into deliveries_webhook_due
 * that stops at the first due row, one count over deliveries_leased. Written as a join or EXISTS,
 * the PostgreSQL planner may (and with a generic plan or stale statistics did) hash the whole
 * backlog instead: every pending row read at every claim, 20 ms at 15,000 queued.
 */
export function candidatesText(cap: string, now: string): string {
  const limit = `case when w.inflight_limit is not null and w.inflight_limit < ${cap} then w.inflight_limit else ${cap} end`;
  return `
    select w.id, w.project_id, ${limit} as "limit",
           ${liveLeasesText("w.id", now)} as busy,
           (w.inflight_limit is not null) as suspect,
           w.rate_limit_per_second as rate, w.rate_limit_tat as tat,
           (w.ordering = 'fifo') as fifo, ${fifoHeadText(now)} as head
      from webhooks w
     where (select 1 from deliveries d where d.webhook_id = w.id and ${dueAndFreeText(now)} order by d.run_at limit 1) is not null`;
}

/** A row of the candidates query with each dialect's types made the same (bigint and numeric as text, booleans as 0/1). */
export function candidateOf(r: Record<string, unknown>): Candidate {
  return {
    id: r.id as string,
    project_id: r.project_id as string,
    limit: Number(r.limit),
    busy: Number(r.busy),
    suspect: r.suspect === true || r.suspect === 1,
    rate: r.rate == null ? null : Number(r.rate),
    tat: r.tat == null ? null : Number(r.tat),
    fifo: r.fifo === true || r.fifo === 1,
    head: (r.head as string | null) ?? null,
  };
}

/** Leased rows per webhook. */
export function countBy(rows: { webhook_id: string }[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const r of rows) n.set(r.webhook_id, (n.get(r.webhook_id) ?? 0) + 1);
  return n;
}
