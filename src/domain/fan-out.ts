/**
 * Fan-out: whether a webhook gets an event. This is the rule's one home: every publish path (the
 * one-statement publish, the transaction, the host's transaction) and recover ask it, and the event
 * lookup's `not_delivered` explains with it (docs/delivery-policies.md). Test and Redeliver do not
 * fan out: they name their webhook.
 */

/** Why a webhook got no delivery of an event (GET …/events/{event_id}, `not_delivered`). */
export type NotDeliveredReason = "not_subscribed" | "filtered" | "disabled" | "import";

export interface FanOutWebhook {
  id: string;
  enabled: boolean;
  events: readonly string[];
  /** The payload filter's test (domain/payload-filter.ts); null: every event it subscribes to. */
  filter: ((body: unknown) => boolean) | null;
}

export interface FanOutEvent {
  event: string;
  /** The delivery body `{id, event, created_at, project_id, subject}` a filter is matched against; read only for webhooks with a filter. */
  body: () => unknown;
  /** `import`: accepted and sent to nobody (docs/host-apps.md, "Imports"). */
  source?: "app" | "import";
}

/** Null when the webhook gets the event; otherwise why not. */
export function whyNotDelivered(hook: FanOutWebhook, e: FanOutEvent): NotDeliveredReason | null {
  if (e.source === "import") return "import";
  if (!hook.events.includes(e.event)) return "not_subscribed";
  if (!hook.enabled) return "disabled";
  if (hook.filter && !hook.filter(e.body())) return "filtered";
  return null;
}

/** The ids of the webhooks that get the event. */
export function fanOut(hooks: readonly FanOutWebhook[], e: FanOutEvent): string[] {
  return hooks.filter((h) => whyNotDelivered(h, e) === null).map((h) => h.id);
}

/** The body a filter reads, parsed from the stored JSON at most once however many filters read it. */
export function lazyBody(payload: string): () => unknown {
  let body: unknown;
  let parsed = false;
  return () => {
    if (!parsed) [body, parsed] = [JSON.parse(payload), true];
    return body;
  };
}
