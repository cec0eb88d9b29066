/**
 * Objects of the public HTTP API, taken from the types generated from /api/openapi.json
 * (schema.d.ts; regenerate with `npm run gen:api-types`), so the UI and the API cannot drift.
 */
import type { paths } from "./schema";

type Json<R> = R extends { content: { "application/json": infer T } } ? T : never;
/** The JSON of an operation's success answer (200 or 201). */
type Answer<Op> = Op extends { responses: infer R } ? Json<R[200 & keyof R] | R[201 & keyof R]> : never;
type Body<Op> = Op extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;
type Api<P extends string> = paths[`/api/v1${P}` & keyof paths];
type Webhooks = Api<"/projects/{project_id}/webhooks">;
type Log = Api<"/projects/{project_id}/webhooks/{id}/logs/{log_id}">;

export type Project = Answer<Api<"/projects/{project_id}">["get"]>;
export type WebhookList = Answer<Webhooks["get"]>;
export type Webhook = WebhookList["data"][number];
export type WebhookInput = Body<Webhooks["post"]>;
export type EventType = Answer<Api<"/event-types">["get"]>["data"][number];
export type LogPage = Answer<Api<"/projects/{project_id}/webhooks/{id}/logs">["get"]>;
export type LogEntry = LogPage["data"][number];
export type LogEntryDetail = Answer<Log["get"]>;
export type Stats = Answer<Api<"/projects/{project_id}/webhooks/{id}/stats">["get"]>;
export type StatsBucket = Stats["buckets"][number];
export type Notification = Answer<Api<"/projects/{project_id}/notifications">["get"]>["data"][number];
export type Me = Answer<Api<"/me">["get"]>;
export type PortalSession = Answer<Api<"/projects/{project_id}/portal-sessions">["post"]>;
export type FieldError = NonNullable<Json<Log["get"]["responses"][404]>["error"]["details"]>[number];
export type SecretRotation = Answer<Api<"/projects/{project_id}/webhooks/{id}/secret/rotate">["post"]>;
export type EventDetail = Answer<Api<"/projects/{project_id}/events/{event_id}">["get"]>;
