/**
 * The texts both dialects' claims share (claim.ts describes the claim): which rows may be leased,
 * and step 1, the candidate webhooks. Placeholders are the caller's, so each dialect binds its own way.
 */

/** A delivery row a claim may lease now: pending, due, and not under a live lease (`now`: its placeholder). */
export const dueAndFreeText = (now: string, alias = "d") =>
  `${alias}.status = 'pending' and ${alias}.run_at <= ${now} and (${alias}.lease_until is null or ${alias}.lease_until <= ${now})`;

/** The live leases of the webhook `webhook` names, counted from deliveries_leased (`now`: its placeholder). */
export const liveLeasesText = (webhook: string, now: string) =>
  `(select count(*) from deliveries l where l.webhook_id = ${webhook} and l.lease_token is not null and l.lease_until > ${now})`;

/**
 * Step 1's query (without PostgreSQL's row locks): every webhook with a due, unleased delivery, with
 * its limit and live leases (fair-share.ts passes over those without a free slot). `cap` and `now`
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
           (w.inflight_limit is not null) as suspect
      from webhooks w
     where (select 1 from deliveries d where d.webhook_id = w.id and ${dueAndFreeText(now)} order by d.run_at limit 1) is not null`;
}
