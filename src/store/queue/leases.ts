/**
 * PostgreSQL keeps a row per lease in delivery_leases (delivery_id, webhook_id, token,
 * lease_until), beside the delivery's own lease_token and lease_until, which stay what an attempt's
 * ownership is checked against (settle.ts). The claim counts each webhook's live leases from
 * delivery_leases (candidates.ts); no index of deliveries covers lease_token or lease_until, so a
 * lease is a HOT update of the delivery (docs/performance.md, "Leases in a table of their own").
 * Every statement that ends a lease on PostgreSQL deletes its row after it has changed the delivery:
 * locks are taken webhook, then delivery, then lease, the claim's order. SQLite counts its leases
 * from the leased rows of deliveries (deliveries_leased) and has no such table.
 *
 * A row whose lease ended without it (a node of the previous version settled a lease that the
 * migration copied) counts until its lease_until and is swept by the purge (sweepEndedLeases).
 */
import { sql } from "kysely";
import { isSqlite } from "../fixed-statement.js";
import type { Db } from "./settle.js";

/**
 * Deletes the lease rows of `ids` (PostgreSQL; nothing on SQLite), those of `token` only when given.
 * Call after the deliveries' own update. Outside a transaction that update has committed already,
 * and a released delivery may be claimed again at once: the token keeps the new lease's row.
 */
export async function dropLeaseRows(db: Db, ids: string[], token?: string): Promise<void> {
  if (ids.length === 0 || isSqlite(db)) return;
  if (token === undefined) await sql`delete from delivery_leases where delivery_id = any(${ids}::text[])`.execute(db);
  else await sql`delete from delivery_leases where delivery_id = any(${ids}::text[]) and token = ${token}`.execute(db);
}

/** Deletes lease rows that expired before `now` (PostgreSQL; nothing on SQLite). Answers how many. */
export async function sweepEndedLeases(db: Db, now: number): Promise<number> {
  if (isSqlite(db)) return 0;
  const res = await sql`delete from delivery_leases where lease_until < ${now}`.execute(db);
  return Number(res.numAffectedRows ?? 0);
}
