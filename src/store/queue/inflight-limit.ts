import { nextInflightLimit } from "../../domain/inflight-limit.js";
import type { Db } from "./settle.js";

/**
 * Applies a batch's attempt results to their webhooks' in-flight limits (domain/inflight-limit.ts),
 * on the webhook rows, where every worker's claim reads them. `current` holds each webhook's limit
 * as read in the same transaction (attempted.ts reads it with the deliveries). Only webhooks whose
 * limit changes are written; `updated_at` (what users edited last) is left alone.
 *
 * Another worker may change the same limit between that read and this write (on PostgreSQL both
 * read before either commits), so the write is a compare-and-set: it applies only over the value
 * the results were folded into, and otherwise the results are folded again into the value now
 * committed. Two workers each halving a limit of 16 thus leave 4, not 8. Webhooks are written in
 * id order, so two batches that change the same webhooks take their row locks in the same order.
 */
export async function adjustInflightLimits(
  db: Db,
  results: Map<string, { success: boolean; timedOut: boolean }[]>,
  current: Map<string, number | null>,
  cap: number,
): Promise<void> {
  for (const id of [...results.keys()].sort()) {
    const list = results.get(id)!;
    let was = current.get(id) ?? null;
    for (;;) {
      const next = nextInflightLimit(was, cap, list);
      if (next === was) break;
      const res = await db
        .updateTable("webhooks")
        .set({ inflight_limit: next })
        .where("id", "=", id)
        .where("inflight_limit", was === null ? "is" : "=", was)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) > 0) break;
      const row = await db.selectFrom("webhooks").select("inflight_limit").where("id", "=", id).executeTakeFirst();
      if (!row) break; // deleted meanwhile
      was = row.inflight_limit ?? null;
    }
  }
}
