/**
 * `Try filter` (the UI's Add and Edit forms): whether a filter matches the event type's example,
 * through the same checks and the same matcher as fan-out (domain/payload-filter.ts). The body is
 * built as a delivery's would be, so what matches here matches a real event with that subject.
 */
import { ValidationError } from "../domain/errors.js";
import { buildEventBody } from "../domain/payload.js";
import { compileFilter, filterErrors } from "../domain/payload-filter.js";
import type { Context } from "./context.js";
import { listEventTypes } from "./event-types.js";
import { getProject } from "./projects.js";

/** Stands in for an event id: the example was never published. */
const EXAMPLE_EVENT_ID = "evt_00000000000000000000000000";

export async function tryFilter(ctx: Context, projectId: string, input: { event?: unknown; filter?: unknown }) {
  await getProject(ctx, projectId);
  const type = (await listEventTypes(ctx)).find((t) => t.name === input.event);
  const errors = filterErrors(input.filter);
  if (!type) errors.unshift({ field: "event", message: "event must name an event type of the catalog (GET /api/v1/event-types)." });
  if (errors.length > 0) throw new ValidationError(errors);
  const body = JSON.parse(
    buildEventBody({ id: EXAMPLE_EVENT_ID, event: type!.name, createdAt: new Date(ctx.now()), projectId, subject: type!.example ?? {} }),
  ) as unknown;
  return { matches: compileFilter(JSON.stringify(input.filter))(body), body };
}
