import type { Outcome } from "../../../src/delivery/record-outcomes.js";
import type { AttemptResult } from "../../../src/delivery/sender.js";
import type { ClaimedDelivery } from "../../../src/store/queue/types.js";

/** A finished first attempt of a test-run.completed delivery, as the recorder gets it from a sender, for calling recordOutcomes directly. */
export function outcomeOf(deliveryId: string, leaseToken: string, result: AttemptResult, at: number, claimed?: ClaimedDelivery): Outcome {
  return {
    deliveryId,
    leaseToken,
    attempt: 1,
    event: "test-run.completed",
    request: { method: "POST", url: "https://127.0.0.1:1/x", headers: {}, body: "{}" },
    result,
    at,
    claimed,
  };
}
