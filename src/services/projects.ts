import { NotFoundError, ValidationError, type FieldError } from "../domain/errors.js";
import { PROJECT_ID_PATTERN } from "../domain/ids.js";
import * as projects from "../store/projects.js";
import type { Context } from "./context.js";
import { projectView } from "./views.js";

const EMAIL = /^[^\s@<>(),;:"\u0000-\u001f\u007f]+@[^\s@<>(),;:"\u0000-\u001f\u007f]+\.[^\s@<>(),;:"\u0000-\u001f\u007f]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function checkProjectId(id: string): void {
  if (!PROJECT_ID_PATTERN.test(id)) throw new NotFoundError("Project");
}

export async function putProject(ctx: Context, id: string, body: { name?: unknown; notification_emails?: unknown }) {
  const errors: FieldError[] = [];
  if (!PROJECT_ID_PATTERN.test(id)) errors.push({ field: "project_id", message: "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_' or '-'" });
  const name = typeof body.name === "string" ? body.name.trim() : "";
  if (typeof body.name !== "string") errors.push({ field: "name", message: "is required and must be a string" });
  else if (name.length < 1 || name.length > 200) errors.push({ field: "name", message: "must be 1–200 characters after trimming" });
  // PostgreSQL text cannot hold NUL, and line breaks would break one-line views: refuse them here.
  else if (CONTROL_CHARS.test(name)) errors.push({ field: "name", message: "must not contain line breaks, tabs or other control characters" });
  let emails: string[] | undefined;
  if (body.notification_emails !== undefined && body.notification_emails !== null) {
    const raw = body.notification_emails;
    if (!Array.isArray(raw) || raw.length > 20 || raw.some((e) => typeof e !== "string" || e.length > 254 || !EMAIL.test(e.trim()))) {
      errors.push({ field: "notification_emails", message: "must be an array of at most 20 e-mail addresses" });
    } else emails = [...new Set(raw.map((e: string) => e.trim()))];
  }
  if (errors.length) throw new ValidationError(errors);
  const { row, created } = await projects.upsertProject(ctx.store.db, { id, name, notificationEmails: emails, now: ctx.now() });
  return { project: projectView(row), created };
}

export async function getProject(ctx: Context, id: string) {
  checkProjectId(id);
  const row = await projects.findProject(ctx.store.db, id);
  if (!row) throw new NotFoundError("Project");
  return projectView(row);
}

export async function listProjects(ctx: Context) {
  return (await projects.listProjects(ctx.store.db)).map(projectView);
}

export async function deleteProject(ctx: Context, id: string) {
  checkProjectId(id);
  if (!(await projects.deleteProject(ctx.store.db, id))) throw new NotFoundError("Project");
}
