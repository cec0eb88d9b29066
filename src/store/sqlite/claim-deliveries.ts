import { sharedCommit, type Store } from "../db.js";
import { rawRows } from "../fixed-statement.js";
import { candidatesText, dueAndFreeText } from "../queue/candidates.js";
import { fairShares } from "../queue/fair-share.js";
import type { AttemptTarget, Candidate, ClaimRequest, ClaimResult, ClaimedDelivery } from "../queue/types.js";

type Db = Parameters<Parameters<typeof sharedCommit>[1]>[0];

// better-sqlite3 binds plain `?` only: a value is repeated where the text uses it twice.
const CANDIDATES = candidatesText("?", "?");
const candidateParams = (req: ClaimRequest) => [req.cap, req.cap, req.now, req.now, req.now];

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
            returning id, event_id, webhook_id, project_id, "trigger", attempts, max_attempts, run_at`;
    leaseTexts.set(n, text);
  }
  return text;
}

const TARGETS = `
  select d.id, e.event, e.payload, e.trace_context, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.signing_key, w.enabled,
         w.headers, w.auth, w.auth_secret, w.client_cert, w.client_key
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
    const rows = await rawRows<Omit<Candidate, "suspect"> & { suspect: number }>(db, CANDIDATES, candidateParams(req));
    const candidates = rows.map((r) => ({ ...r, limit: Number(r.limit), busy: Number(r.busy), suspect: r.suspect === 1 }));
    const { quota, lastProject, more } = fairShares(candidates, req.want, req.suspectWant, req.afterProject);
    if (quota.size === 0) return { claimed: [], lastProject, more: false };
    const suspect = new Set(candidates.filter((c) => c.suspect).map((c) => c.id));
    const claimed: ClaimedDelivery[] = [];
    const shares = [...quota];
    for (let i = 0; i < shares.length; i += SEEKS_PER_STATEMENT) {
      const part = shares.slice(i, i + SEEKS_PER_STATEMENT);
      const leased = await rawRows<Omit<ClaimedDelivery, "suspect" | "target">>(db, leaseText(part.length), [
        req.token,
        req.leaseUntil,
        ...part.flatMap(([webhookId, n]) => [webhookId, req.now, req.now, n]),
      ]);
      const targets = await loadTargets(
        db,
        leased.map((r) => r.id),
      );
      for (const r of leased) claimed.push({ ...r, suspect: suspect.has(r.webhook_id), target: targets.get(r.id) ?? null });
    }
    return { claimed, lastProject, more };
  });
}

async function loadTargets(db: Db, ids: string[]): Promise<Map<string, AttemptTarget>> {
  if (ids.length === 0) return new Map();
  const rows = await rawRows<AttemptTarget & { id: string }>(db, TARGETS, [JSON.stringify(ids)]);
  return new Map(rows.map(({ id, ...t }) => [id, t]));
}
