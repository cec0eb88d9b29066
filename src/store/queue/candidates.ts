/**
 * The texts both dialects' claims share (claim.ts describes the claim): which rows may be leased,
 * and step 1, the candidate webhooks. Placeholders are the caller's, so each dialect binds its own way.
 */

/** A delivery row a claim may lease now: pending, due, and not under a live lease (`now`: its placeholder). */
export const dueAndFreeText = (now: string, alias = "d") =>
  `${alias}.status = 'pending' and ${alias}.run_at <= ${now} and (${alias}.lease_until is null or ${alias}.lease_until <= ${now})`;

/**
 * Step 1's query (without PostgreSQL's row locks): every webhook with a free slot and a due,
 * unleased delivery, with its limit and live leases. `cap` and `now` are the placeholders of
 * HOOKLINE_WEBHOOK_CONCURRENCY and the claim's time.
 */
export function candidatesText(cap: string, now: string): string {
  const limit = `case when w.inflight_limit is not null and w.inflight_limit < ${cap} then w.inflight_limit else ${cap} end`;
  return `
    select w.id, w.project_id, ${limit} as "limit", coalesce(l.n, 0) as busy, (w.inflight_limit is not null) as suspect
      from webhooks w
      left join (select webhook_id, count(*) as n from deliveries
                  where lease_token is not null and lease_until > ${now}
                  group by webhook_id) l on l.webhook_id = w.id
     where coalesce(l.n, 0) < ${limit}
       and exists (select 1 from deliveries d where d.webhook_id = w.id and ${dueAndFreeText(now)})`;
}
