/** Prefixed, time-sortable ids (monotonic ULIDs): sorting by id is sorting by creation time. */
import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";

// ulid's own PRNG calls into crypto once per character (16 calls for each new millisecond's id,
// ~5% of a publish's CPU); draw the same cryptographic bytes from a pooled buffer instead.
const pool = Buffer.alloc(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++] / 256;
}

const next = monotonicFactory(pooledRandom);

export type IdPrefix = "wh" | "evt" | "dlv" | "log" | "ntf";

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${next(now).toLowerCase()}`;
}

const ID_PATTERN = /^(wh|evt|dlv|log|ntf)_[0-9a-hjkmnp-tv-z]{26}$/;

/** True when `id` has the shape of an id with that prefix (anything else is a 404, never a query). */
export function isId(prefix: IdPrefix, id: string): boolean {
  return ID_PATTERN.test(id) && id.startsWith(`${prefix}_`);
}

export const PROJECT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
