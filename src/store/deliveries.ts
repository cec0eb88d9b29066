import { sql, type Kysely } from "kysely";
import type { Database, DeliveryRow } from "./schema.js";
import { sharedCommit, type Dialect, type Store } from "./db.js";
import { claimSqlite } from "./sqlite/claim-deliveries.js";
import { claimAndLoadPostgres, claimPostgres } from "./postgres/claim-deliveries.js";

type Db = Kysely<Database>;

export interface ClaimRequest {
  now: number;
  limit: number;
  leaseUntil: number;
  token: string;
  /** Attempts one webhook may have in flight in this worker. */
  perWebhookLimit: number;
  /** Webhooks with attempts in flight in this worker, and how many more each may start (0: none). */
  webhookSlots: ReadonlyMap<string, number>;
  /**
   * Leave out due rows older than this (ms): the caller knows every one of them is leased or belongs
   * to a webhook with no slot left (see the worker's claim cursor). Omitted: from the oldest row.
   */
  since?: number;
}

export interface ClaimedDelivery {
  id: string;
  event_id: string;
  webhook_id: string;
  project_id: string;
  trigger: DeliveryRow["trigger"];
  attempts: number;
  max_attempts: number;
  /** Its due time: the oldest claimed row tells the worker where claimable rows start. */
  run_at: number;
}

/** Leases up to `limit` due deliveries, within the per-webhook slots, in one statement (the dialect's own). */
export function claimDeliveries(db: Db, dialect: Dialect, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  return dialect === "postgres" ? claimPostgres(db, req) : claimSqlite(db, req);
}

/**
 * Claims (see claimDeliveries) and loads what the attempts need. On SQLite both join the group
 * commit (a claim is a write, and alone it would cost a WAL commit of its own); on PostgreSQL they
 * are one statement.
 */
export async function claimAndLoad(store: Store, req: ClaimRequest): Promise<{ claimed: ClaimedDelivery[]; targets: Map<string, AttemptTarget> }> {
  if (store.dialect === "postgres") return claimAndLoadPostgres(store.db, req);
  return sharedCommit(store, async (db) => {
    const claimed = await claimDeliveries(db, store.dialect, req);
    return { claimed, targets: await loadTargets(db, claimed.map((d) => d.id)) };
  });
}

/** What an attempt needs, read fresh at attempt time so URL/secret edits apply to retries. */
export interface AttemptTarget {
  delivery_id: string;
  event: string;
  payload: string;
  url: string;
  secret: string | null;
  enabled: number;
  /** The publish's `traceparent` (tracing on when it was published), the parent of the attempt's span. */
  trace_context?: string | null;
}

export async function loadTargets(db: Db, deliveryIds: string[]): Promise<Map<string, AttemptTarget>> {
  if (deliveryIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("deliveries as d")
    .innerJoin("events as e", "e.id", "d.event_id")
    .innerJoin("webhooks as w", "w.id", "d.webhook_id")
    .select(["d.id as delivery_id", "e.event", "e.payload", "e.trace_context", "w.url", "w.secret", "w.enabled"])
    .where("d.id", "in", deliveryIds)
    .execute();
  return new Map(rows.map((r) => [r.delivery_id, r]));
}

/** Stops a webhook's queued event deliveries and retries (Test and Redeliver attempts still run). */
export async function cancelPendingDeliveries(db: Db, webhookId: string, now: number, exceptId?: string): Promise<number> {
  let q = db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_token: null, lease_until: null, updated_at: now })
    .where("webhook_id", "=", webhookId)
    .where("status", "=", "pending")
    .where("trigger", "=", "event");
  if (exceptId) q = q.where("id", "!=", exceptId);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Gives leases back (graceful shutdown): the deliveries are due again at once, for any worker. */
export async function releaseLeases(db: Db, ids: string[], token: string, now: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable("deliveries")
    .set({ lease_token: null, lease_until: null, updated_at: now })
    .where("id", "in", ids)
    .where("lease_token", "=", token)
    .where("status", "=", "pending")
    .execute();
}

export async function pendingStats(db: Db, now: number): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const row = await db
    .selectFrom("deliveries")
    .select([sql<number>`count(*)`.as("n"), sql<number | null>`min(created_at)`.as("oldest")])
    .where("status", "=", "pending")
    .executeTakeFirstOrThrow();
  const oldest = row.oldest === null ? null : Number(row.oldest);
  return { pending: Number(row.n), oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
}
