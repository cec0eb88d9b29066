import { sharedCommit, type Store } from "../db.js";
import { rawRows } from "../fixed-statement.js";
import { candidateOf, candidatesText, countBy, dueAndFreeText } from "../queue/candidates.js";
import { fairShares } from "../queue/fair-share.js";
import { limitByFifo, splitFifoShares } from "../queue/fifo.js";
import { limitByRate, spendRate } from "../queue/rate-limit.js";
import { claimedDelivery } from "../queue/claimed.js";
import type { AttemptTarget, ClaimRequest, ClaimResult, ClaimedDelivery } from "../queue/types.js";

type Db = Parameters<Parameters<typeof sharedCommit>[1]>[0];

// better-sqlite3 binds plain `?` only: a value is repeated where the text uses it twice.
const CANDIDATES = candidatesText("?", "?");
/** In the order the text uses them: the cap (twice), now for the live leases, the FIFO head (twice) and the due row (twice). */
export const candidateParams = (req: Pick<ClaimRequest, "cap" | "now">) => [req.cap, req.cap, req.now, req.now, req.now, req.now, req.now];

/** Most webhooks whose seeks one lease statement holds (SQLite allows 500 terms in a compound select). */
const SEEKS_PER_STATEMENT = 200;

/**
 * The lease of `n` webhooks' oldest due rows: each webhook's seek as one term of a compound select,
 * so the seeks and the lease are one statement. Parameters: token, lease_until, then per term
 * its webhook_id, now (twice) and share. One text per `n`, kept by the statement cache.
 */
const leaseTexts = new Map<number, string>();
function leaseText(n: number): string {
  let text = leaseTexts.get(n);
  if (text === undefined) {
    const seek = `select * from (select id from deliveries d indexed by deliveries_webhook_due
                                  where d.webhook_id = ? and ${dueAndFreeText("?")} order by d.run_at limit ?)`;
    text = `update deliveries set lease_token = ?, lease_until = ?
             where id in (${Array.from({ length: n }, () => seek).join(" union all ")})
            returning ${LEASED_COLUMNS}`;
    leaseTexts.set(n, text);
  }
  return text;
}

const LEASED_COLUMNS = `id, event_id, webhook_id, project_id, "trigger", attempts, max_attempts, run_at, retry_delays`;

type Leased = Omit<ClaimedDelivery, "suspect" | "target" | "state"> & { retry_delays: string | null };

/** FIFO webhooks' heads (queue/fifo.ts), by id, each only if it may still start. Parameters: token, lease_until, the ids as JSON, now (twice). */
const LEASE_HEADS = `update deliveries set lease_token = ?, lease_until = ?
                      where id in (select value from json_each(?)) and ${dueAndFreeText("?", "deliveries")}
                  returning ${LEASED_COLUMNS}`;

const TARGETS = `
  select d.id, e.event, e.payload, e.trace_context, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.signing_key, w.enabled,
         w.headers, w.auth, w.auth_secret, w.client_cert, w.client_key, w.inflight_limit
    from json_each(?) j
    join deliveries d on d.id = j.value
    join events e on e.id = d.event_id
    join webhooks w on w.id = d.webhook_id`;

/**
 * SQLite has one writer at a time, and the group commit's transaction takes the write lock when it
 * begins (sqlite/group-commit.ts): the candidates read, the seeks and the lease all happen while no
 * other connection or process can claim, so live leases counted here are every worker's. The
 * statements are fixed texts (fixed-statement.ts).
 */
export function claimSqlite(store: Store, req: ClaimRequest): Promise<ClaimResult> {
  return sharedCommit(store, async (db) => {
    const candidates = (await rawRows<Record<string, unknown>>(db, CANDIDATES, candidateParams(req))).map(candidateOf);
    limitByFifo(candidates);
    const wakeAt = limitByRate(candidates, req.now);
    const { quota, lastProject, more } = fairShares(candidates, req.want, req.suspectWant, req.afterProject);
    if (quota.size === 0) return { claimed: [], lastProject, more: false, wakeAt };
    const suspect = new Set(candidates.filter((c) => c.suspect).map((c) => c.id));
    const claimed: ClaimedDelivery[] = [];
    const { heads, seeks } = splitFifoShares(quota, candidates);
    const shares = [...seeks];
    const leasedParts: Leased[][] = [];
    for (let i = 0; i < shares.length; i += SEEKS_PER_STATEMENT) {
      const part = shares.slice(i, i + SEEKS_PER_STATEMENT);
      leasedParts.push(
        await rawRows<Leased>(db, leaseText(part.length), [req.token, req.leaseUntil, ...part.flatMap(([webhookId, n]) => [webhookId, req.now, req.now, n])]),
      );
    }
    if (heads.length > 0) leasedParts.push(await rawRows(db, LEASE_HEADS, [req.token, req.leaseUntil, JSON.stringify(heads), req.now, req.now]));
    for (const leased of leasedParts) {
      const targets = await loadTargets(
        db,
        leased.map((r) => r.id),
      );
      for (const r of leased) {
        // The target row as read (its id and the limit along): no copy per delivery.
        const target = targets.get(r.id) ?? null;
        // What recording the outcome decides with (queue/record-batch.ts): it then writes without reading first.
        const state = target ? { retry_delays: r.retry_delays, inflight_limit: target.inflight_limit } : undefined;
        claimed.push(claimedDelivery(r, suspect.has(r.webhook_id), target, state));
      }
    }
    await spendRate(db, candidates, countBy(claimed), req.now);
    return { claimed, lastProject, more, wakeAt };
  });
}

type Target = AttemptTarget & { inflight_limit: number | null };

async function loadTargets(db: Db, ids: string[]): Promise<Map<string, Target>> {
  if (ids.length === 0) return new Map();
  const rows = await rawRows<Target & { id: string }>(db, TARGETS, [JSON.stringify(ids)]);
  return new Map(rows.map((t) => [t.id, t]));
}
