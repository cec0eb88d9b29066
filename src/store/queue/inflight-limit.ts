import { nextInflightLimit } from "../../domain/inflight-limit.js";
import type { Db } from "./settle.js";

/**
 * Applies a batch's attempt results to their webhooks' in-flight limits (domain/inflight-limit.ts),
 * on the webhook rows, where every worker's claim reads them. Only webhooks whose limit changes are
 * written; `updated_at` (what users edited last) is left alone.
 */
export async function adjustInflightLimits(db: Db, results: Map<string, { success: boolean; timedOut: boolean }[]>, cap: number): Promise<void> {
  // Only results that can change a limit: a time-out, or a success of a webhook already lowered.
  const ids = [...results.keys()];
  if (ids.length === 0) return;
  const rows = await db.selectFrom("webhooks").select(["id", "inflight_limit"]).where("id", "in", ids).execute();
  for (const row of rows) {
    const current = row.inflight_limit ?? null;
    const next = nextInflightLimit(current, cap, results.get(row.id)!);
    if (next === current) continue;
    await db.updateTable("webhooks").set({ inflight_limit: next }).where("id", "=", row.id).execute();
  }
}
