import { settleAll, type Db } from "./settle.js";

export interface Retry {
  id: string;
  /**
   * The earliest time the next attempt may be made. The caller decides it: the delivery's retry
   * schedule, or later when the receiver asked for more time.
   */
  runAt: number;
}

/** Failed attempts with retries left: each delivery is due again at its `runAt`. Answers the ids it changed. */
export function scheduleRetries(db: Db, retries: Retry[], token: string, now: number): Promise<string[]> {
  return settleAll(
    db,
    retries.map((r) => ({ id: r.id, status: "pending", runAt: r.runAt })),
    token,
    now,
  );
}
