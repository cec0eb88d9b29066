import { NotFoundError } from "../domain/errors.js";
import { isId } from "../domain/ids.js";
import * as store from "../store/notifications.js";
import type { Context } from "./context.js";
import { getProject } from "./projects.js";
import { notificationView } from "./views.js";

export async function listNotifications(ctx: Context, projectId: string) {
  await getProject(ctx, projectId);
  return (await store.listNotifications(ctx.store.db, projectId)).map(notificationView);
}

export async function readNotification(ctx: Context, projectId: string, id: string) {
  await getProject(ctx, projectId);
  const row = isId("ntf", id) ? await store.markRead(ctx.store.db, projectId, id, ctx.now()) : undefined;
  if (!row) throw new NotFoundError("Notification");
  return notificationView(row);
}
