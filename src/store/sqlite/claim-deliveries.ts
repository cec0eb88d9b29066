import { sql } from "kysely";
import { sharedCommit, type Store } from "../db.js";
import { candidatesQuery, dueAndFree } from "../queue/claim.js";
import { fairShares } from "../queue/fair-share.js";
import type { AttemptTarget, Candidate, ClaimRequest, ClaimResult, ClaimedDelivery } from "../queue/types.js";

/**
 * SQLite has one writer at a time, and the group commit's transaction takes the write lock when it
 * begins (sqlite/group-commit.ts): the candidates read, the seeks and the lease all happen while no
 * other connection or process can claim, so live leases counted here are every worker's.
 */
export function claimSqlite(store: Store, req: ClaimRequest): Promise<ClaimResult> {
  return sharedCommit(store, async (db) => {
    const rows = (await candidatesQuery(req).execute(db)).rows as (Omit<Candidate, "suspect"> & { suspect: number })[];
    const candidates = rows.map((r) => ({ ...r, limit: Number(r.limit), busy: Number(r.busy), suspect: r.suspect === 1 }));
    const { quota, lastProject, more } = fairShares(candidates, req.want, req.suspectWant, req.afterProject);
    if (quota.size === 0) return { claimed: [], lastProject, more: false };
    const suspect = new Set(candidates.filter((c) => c.suspect).map((c) => c.id));
    const claimed: ClaimedDelivery[] = [];
    // Each webhook's seek as one term of a compound select, so the seeks and the lease are one
    // statement (at most 200 terms: SQLite allows 500).
    const seeks = [...quota].map(
      ([webhookId, n]) => sql`select * from (select id from deliveries d indexed by deliveries_webhook_due
                                 where d.webhook_id = ${webhookId} and ${dueAndFree(req.now)}
                                 order by d.run_at limit ${n})`,
    );
    for (let i = 0; i < seeks.length; i += 200) {
      const res = await sql<Omit<ClaimedDelivery, "suspect" | "target">>`
        update deliveries set lease_token = ${req.token}, lease_until = ${req.leaseUntil}
         where id in (${sql.join(seeks.slice(i, i + 200), sql` union all `)})
        returning id, event_id, webhook_id, project_id, "trigger", attempts, max_attempts, run_at`.execute(db);
      const targets = await loadTargets(
        db,
        res.rows.map((r) => r.id),
      );
      for (const r of res.rows) claimed.push({ ...r, suspect: suspect.has(r.webhook_id), target: targets.get(r.id) ?? null });
    }
    return { claimed, lastProject, more };
  });
}

async function loadTargets(db: Parameters<Parameters<typeof sharedCommit>[1]>[0], ids: string[]): Promise<Map<string, AttemptTarget>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom("deliveries as d")
    .innerJoin("events as e", "e.id", "d.event_id")
    .innerJoin("webhooks as w", "w.id", "d.webhook_id")
    .select([
      "d.id",
      "e.event",
      "e.payload",
      "e.trace_context",
      "w.url",
      "w.secret",
      "w.previous_secret",
      "w.previous_secret_expires_at",
      "w.signing_key",
      "w.enabled",
    ])
    .where("d.id", "in", ids)
    .execute();
  return new Map(rows.map(({ id, ...t }) => [id, t]));
}
