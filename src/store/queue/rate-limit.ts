/**
 * Rate limits at the claim (docs/delivery-policies.md, "Rate limits"; the arithmetic is
 * domain/rate-limit.ts). The state is one value on the webhook row, `rate_limit_tat`, that every
 * worker reads and advances inside its claim: PostgreSQL's claim holds the candidate webhooks' rows
 * locked until it commits, SQLite's runs under the single write lock, so two workers never spend
 * the same allowance. Every start counts, retries and starts after a crash included. A webhook
 * without allowance is passed over (its free slots go to the others) and the claim answers when it
 * may start again, so the worker wakes for it instead of waiting for its next poll.
 */
import { advanceTat, rateAllowance } from "../../domain/rate-limit.js";
import { fixedRun, fixedStatement } from "../fixed-statement.js";
import type { Db } from "./settle.js";
import type { Candidate } from "./types.js";

/** Lowers each rate-limited candidate's limit to what its allowance lets start now; answers when the first one passed over may start. */
export function limitByRate(candidates: Candidate[], now: number): number | undefined {
  let wakeAt: number | undefined;
  for (const c of candidates) {
    if (c.rate === null || c.busy >= c.limit) continue;
    const { free, nextAt } = rateAllowance(c.rate, c.tat, now);
    c.limit = Math.min(c.limit, c.busy + free);
    if (nextAt !== null) wakeAt = Math.min(wakeAt ?? Infinity, nextAt);
  }
  return wakeAt;
}

const ADVANCE = fixedStatement({
  sqlite: "update webhooks set rate_limit_tat = ? where id = ?",
  postgres: "update webhooks set rate_limit_tat = $1::bigint where id = $2::text",
});

/**
 * Spends the allowance of the starts just leased (`started`: per webhook), in the claim's transaction
 * (SQLite's claim; PostgreSQL's spends it in its lease statement, postgres/claim-deliveries.ts).
 */
export async function spendRate(db: Db, candidates: Candidate[], started: Map<string, number>, now: number): Promise<void> {
  for (const c of candidates) {
    const n = started.get(c.id) ?? 0;
    if (c.rate === null || n === 0) continue;
    await fixedRun(db, ADVANCE, [advanceTat(c.rate, c.tat, now, n), c.id]);
  }
}
