import { settle, type Db } from "./settle.js";

export interface Retry {
  id: string;
  /**
   * The earliest time the next attempt may be made. The caller decides it: the delivery's retry
   * schedule, or later when the receiver asked for more time.
   */
  runAt: number;
}

/** Failed attempts with retries left: each delivery is due again at its `runAt`. Answers the ids it changed. */
export async function scheduleRetries(db: Db, retries: Retry[], token: string, now: number): Promise<string[]> {
  // One statement per distinct time: a batch's retries mostly share a few.
  const byTime = new Map<number, string[]>();
  for (const r of retries) byTime.set(r.runAt, [...(byTime.get(r.runAt) ?? []), r.id]);
  const changed: string[] = [];
  for (const [runAt, ids] of byTime) changed.push(...(await settle(db, ids, token, now, { run_at: runAt })));
  return changed;
}
