import { settle, type Db } from "./settle.js";

/** Attempts that succeeded: the deliveries are done. Answers the ids it changed. */
export function succeedDeliveries(db: Db, ids: string[], token: string, now: number): Promise<string[]> {
  return settle(db, ids, token, now, "succeeded");
}
