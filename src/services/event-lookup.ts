/** "Where did this event go?": a stored event with each of its deliveries. */
import { NotFoundError } from "../domain/errors.js";
import { isId } from "../domain/ids.js";
import { deliveriesOfEvent, findEvent } from "../store/event-lookup.js";
import type { Context } from "./context.js";
import { getProject } from "./projects.js";

export async function getEvent(ctx: Context, projectId: string, eventId: string) {
  await getProject(ctx, projectId);
  const row = isId("evt", eventId) ? await findEvent(ctx.store.db, projectId, eventId) : undefined;
  if (!row) throw new NotFoundError("Event");
  const body = JSON.parse(row.payload) as { subject?: unknown };
  const deliveries = await deliveriesOfEvent(ctx.store.db, row.id);
  return {
    id: row.id,
    event: row.event,
    created_at: new Date(Number(row.created_at)).toISOString(),
    subject: body.subject ?? null,
    deliveries: deliveries.map((d) => ({ id: d.id, webhook_id: d.webhook_id, status: d.status, attempts: d.attempts, trigger: d.trigger })),
  };
}
