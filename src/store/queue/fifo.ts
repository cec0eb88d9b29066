/**
 * Ordered delivery at the claim (docs/delivery-policies.md, "Ordered delivery"): a webhook with
 * `ordering: "fifo"` has at most one attempt in flight across all workers, and it is always its
 * head — its oldest pending delivery by creation (run_at, which a FIFO retry keeps, then id). The
 * candidates query answers the head only when it may start now (candidates.ts): not while it is in
 * flight, and not while it waits for its retry, which holds the line (settle.ts keeps a FIFO
 * retry's place and puts its due time in lease_until). The claim then leases that row by id, never
 * "the oldest due one", which after a retry would be a later delivery. Webhooks without FIFO are
 * untouched: their rows are never read here.
 */
import type { Candidate } from "./types.js";

/** FIFO candidates get one slot, and none when their head may not start now. */
export function limitByFifo(candidates: Candidate[]): void {
  for (const c of candidates) if (c.fifo) c.limit = c.head === null ? Math.min(c.limit, c.busy) : Math.min(c.limit, 1);
}

/** Splits a claim's shares: FIFO webhooks' heads, leased by id, and the rest, leased by seek. */
export function splitFifoShares(quota: Map<string, number>, candidates: Candidate[]): { heads: string[]; seeks: Map<string, number> } {
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const heads: string[] = [];
  const seeks = new Map<string, number>();
  for (const [id, n] of quota) {
    const c = byId.get(id)!;
    if (c.fifo) heads.push(c.head!);
    else seeks.set(id, n);
  }
  return { heads, seeks };
}
