/** Prefixed, time-sortable ids (monotonic ULIDs): sorting by id is sorting by creation time. */
import { monotonicFactory } from "ulid";

const next = monotonicFactory();

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
