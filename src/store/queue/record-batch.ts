/**
 * Recording a batch of outcomes without reading first: when the claim read what the next steps
 * depend on (ClaimedDelivery.state) and that still holds — the delivery is pending and leased by
 * the same token, which the write checks, so nobody else changed its attempts — the caller decides
 * every step up front and the store writes the log entries, their rollups and the deliveries'
 * next states at once. PostgreSQL: one statement (postgres/record-batch.ts) instead of a
 * transaction of six round trips. SQLite answers null: its reading record costs no round trips
 * (the caller records as before).
 */
import type { Kysely } from "kysely";
import { isSqlite } from "../fixed-statement.js";
import { recordBatchPostgres } from "../postgres/record-batch.js";
import type { Database, LogEntryRow } from "../schema.js";
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

/** Whether `db` records batches this way (checked first, so SQLite spends nothing on preparing one). */
export function recordsBatchAtOnce(db: Kysely<Database>): boolean {
  return !isSqlite(db);
}

export function recordBatch(db: Kysely<Database>, batch: BatchRecord[], now: number): Promise<RecordedBatch> | null {
  if (!recordsBatchAtOnce(db) || batch.length === 0) return null;
  return recordBatchPostgres(db, batch, now);
}
