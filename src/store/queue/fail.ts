import { settle, type Db } from "./settle.js";

/** Attempts that failed with no retry left (or never to be retried): the deliveries failed. */
export function failDeliveries(db: Db, ids: string[], token: string, now: number): Promise<string[]> {
  return settle(db, ids, token, now, "failed");
}
