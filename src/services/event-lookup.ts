/** "Where did this event go?": a stored event with each of its deliveries, and why the project's other webhooks got none. */
import { NotFoundError } from "../domain/errors.js";
import { lazyBody, whyNotDelivered, type NotDeliveredReason } from "../domain/fan-out.js";
import { isId } from "../domain/ids.js";
import { deliveriesOfEvent, findEvent, webhooksForLookup } from "../store/event-lookup.js";
import { fanOutWebhook } from "../store/fan-out.js";
import type { Context } from "./context.js";
import { getProject } from "./projects.js";

export async function getEvent(ctx: Context, projectId: string, eventId: string) {
  await getProject(ctx, projectId);
  const row = isId("evt", eventId) ? await findEvent(ctx.store.db, projectId, eventId) : undefined;
  if (!row) throw new NotFoundError("Event");
  const body = lazyBody(row.payload);
  const deliveries = await deliveriesOfEvent(ctx.store.db, row.id);
  const delivered = new Set(deliveries.map((d) => d.webhook_id));
  const hooks = (await webhooksForLookup(ctx.store.db, projectId)).filter((h) => !delivered.has(h.id));
  return {
    id: row.id,
    event: row.event,
    created_at: new Date(Number(row.created_at)).toISOString(),
    subject: (body() as { subject?: unknown }).subject ?? null,
    deliveries: deliveries.map((d) => ({ id: d.id, webhook_id: d.webhook_id, status: d.status, attempts: d.attempts, trigger: d.trigger })),
    // Judged by fan-out with each webhook's settings now. One that fan-out would choose now but that
    // got nothing was created after the event (it did not subscribe then) or disabled when it came.
    not_delivered: hooks.map((h) => {
      const reason: NotDeliveredReason =
        whyNotDelivered(fanOutWebhook(h), { event: row.event, body }) ?? (Number(h.created_at) > Number(row.created_at) ? "not_subscribed" : "disabled");
      return { webhook_id: h.id, reason };
    }),
  };
}
