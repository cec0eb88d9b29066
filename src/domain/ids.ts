/**
 * Prefixed, time-sortable ids (monotonic ULIDs, https://github.com/ulid/spec): 10 characters of
 * millisecond time and 16 of randomness in Crockford's base32, lower case. Sorting by id is sorting
 * by creation time; ids made in the same millisecond (or while the clock is behind the last id's)
 * keep the last id's time and increment its random part, so they still sort in the order made.
 *
 * Made here rather than with the `ulid` package's monotonic factory, which builds each id with
 * string slicing and `indexOf` per character (about 1 KB of garbage per id, two ids per delivery):
 * the random part is kept as 16 digits and incremented in place, the time part encoded once per
 * millisecond, and the random bytes drawn from a pooled buffer (one call into crypto per 4 KB).
 */
import { randomFillSync } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const TIME_LEN = 10;
const RANDOM_LEN = 16;

const pool = Buffer.alloc(4096);
let used = pool.length;
function randomDigit(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++] >> 3;
}

/** Crockford base32 of a millisecond time, 10 characters (48 bits). */
export function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0, t = ms; i < TIME_LEN; i++, t = Math.floor(t / 32)) out = ALPHABET[t % 32] + out;
  return out;
}

let lastTime = -1;
let timePart = "";
const digits = new Uint8Array(RANDOM_LEN);

function nextUlid(now: number): string {
  if (now > lastTime) {
    lastTime = now;
    timePart = encodeTime(now);
    for (let i = 0; i < RANDOM_LEN; i++) digits[i] = randomDigit();
  } else {
    let i = RANDOM_LEN - 1;
    while (i >= 0 && digits[i] === 31) digits[i--] = 0;
    // 2^80 ids in one millisecond: the random part has no room left (as the ulid package, refuse).
    if (i < 0) throw new Error("id space of this millisecond exhausted");
    digits[i]++;
  }
  let random = "";
  for (let i = 0; i < RANDOM_LEN; i++) random += ALPHABET[digits[i]];
  return timePart + random;
}

export type IdPrefix = "wh" | "evt" | "dlv" | "log" | "ntf";

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${nextUlid(now)}`;
}

const ID_PATTERN = /^(wh|evt|dlv|log|ntf)_[0-9a-hjkmnp-tv-z]{26}$/;

/** True when `id` has the shape of an id with that prefix (anything else is a 404, never a query). */
export function isId(prefix: IdPrefix, id: string): boolean {
  return ID_PATTERN.test(id) && id.startsWith(`${prefix}_`);
}

export const PROJECT_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
