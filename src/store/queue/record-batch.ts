/**
 * Recording a batch of outcomes without reading first: when the claim read what the next steps
 * depend on (ClaimedDelivery.state) and that still holds — the delivery is pending and leased by
 * the same token, which the write checks, so nobody else changed its attempts — the caller decides
 * every step up front and the store writes the log entries, their rollups and the deliveries'
 * next states at once. PostgreSQL: one statement (postgres/record-batch.ts) instead of a
 * transaction of six round trips. SQLite: three statements in the group commit instead of the read
 * and the same writes (sqlite/record-batch.ts).
 */
import type { Store } from "../db.js";
import { recordBatchPostgres } from "../postgres/record-batch.js";
import { recordBatchSqlite } from "../sqlite/record-batch.js";
import type { LogEntryRow } from "../schema.js";
import type { Settlement } from "./settle.js";

export interface BatchRecord {
  /** Its log entry, written when the delivery still exists. */
  log: LogEntryRow;
  /** The lease the attempt ran under. */
  token: string;
  /** Its delivery's next state (settle.ts), applied while the lease holds; null: the log only. */
  next: Pick<Settlement, "status" | "runAt"> | null;
}

export interface RecordedBatch {
  /** The deliveries whose next state was applied. */
  settled: string[];
  /** The in-flight limit of each of the batch's webhooks now (inflight-limit.ts), by webhook id. */
  limits: Map<string, number | null>;
}

/** Null for an empty batch: nothing to write. */
export function recordBatch(store: Store, batch: BatchRecord[], now: number): Promise<RecordedBatch> | null {
  if (batch.length === 0) return null;
  return store.groupCommit ? recordBatchSqlite(store, batch, now) : recordBatchPostgres(store.db, batch, now);
}
