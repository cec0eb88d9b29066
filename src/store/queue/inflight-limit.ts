import { nextInflightLimit } from "../../domain/inflight-limit.js";
import type { Db } from "./settle.js";

/**
 * Applies a batch's attempt results to their webhooks' in-flight limits (domain/inflight-limit.ts),
 * on the webhook rows, where every worker's claim reads them. `current` holds each webhook's limit
 * as read in the same transaction (attempted.ts reads it with the deliveries). Only webhooks whose
 * limit changes are written; `updated_at` (what users edited last) is left alone.
 */
export async function adjustInflightLimits(
  db: Db,
  results: Map<string, { success: boolean; timedOut: boolean }[]>,
  current: Map<string, number | null>,
  cap: number,
): Promise<void> {
  for (const [id, list] of results) {
    const was = current.get(id) ?? null;
    const next = nextInflightLimit(was, cap, list);
    if (next === was) continue;
    await db.updateTable("webhooks").set({ inflight_limit: next }).where("id", "=", id).execute();
  }
}
