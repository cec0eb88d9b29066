import fs from "node:fs";
import { ConfigError } from "../config.js";
import { DEFAULT_CATALOG, checkEventType, readCatalogFile, type CatalogFile, type EventType } from "../domain/catalog.js";
import * as store from "../store/event-types.js";
import type { Context } from "./context.js";
import { eventTypeView } from "./views.js";

/**
 * Seeds the catalog at start. The catalog lives once in the database and is shared by every node:
 * a file adds and updates the types it lists and never removes any (another node may have added
 * them, from its own file or through the admin API). Without a file, the default types are written
 * only into an empty catalog, so a node without a file never brings back types that a cluster's
 * file-defined catalog left out. `{extends: "default"}` writes the default types too.
 */
export async function seedCatalog(ctx: Context): Promise<void> {
  const file = ctx.config.eventTypesFile;
  const now = ctx.now();
  if (!file) {
    await store.seedEmptyCatalog(ctx.store, DEFAULT_CATALOG, now);
    return;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("HOOKLINE_EVENT_TYPES", `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let catalog: CatalogFile;
  try {
    catalog = readCatalogFile(text);
  } catch (err) {
    throw new ConfigError("HOOKLINE_EVENT_TYPES", `${file} ${(err as Error).message}`);
  }
  await store.upsertEventTypes(ctx.store.db, catalog.types, now);
}

/** The catalog by name, as the API answers it (the same shape as the domain's EventType, which the OpenAPI webhooks take). */
export async function listEventTypes(ctx: Context): Promise<EventType[]> {
  return (await store.listEventTypes(ctx.store.db)).map(eventTypeView);
}

export async function catalogNames(ctx: Context): Promise<Set<string>> {
  return new Set((await store.listEventTypes(ctx.store.db)).map((t) => t.name));
}

/** How long a cached catalog is trusted (a schema changed through another node's API). */
const CATALOG_TTL_MS = 10_000;
/** Each type's schema text (null: none), by name. */
type Schemas = Map<string, string | null>;
const cachedSchemas = new WeakMap<Context, { schemas: Schemas; at: number }>();

/**
 * The catalog entry `name` for the publish path (which asked the database on every call): its
 * schema text (null: none), or undefined when the type is not in the catalog. A name missing from
 * the cache reloads it, so a type added by PUT on any node is known at its first use; a PUT here
 * drops the cache; and it expires, so another node's schema change applies within the TTL.
 */
export async function catalogSchema(ctx: Context, name: string): Promise<string | null | undefined> {
  const hit = cachedSchemas.get(ctx);
  if (hit && Date.now() - hit.at < CATALOG_TTL_MS && hit.schemas.has(name)) return hit.schemas.get(name);
  const schemas: Schemas = new Map((await store.listEventTypes(ctx.store.db)).map((t) => [t.name, t.schema]));
  cachedSchemas.set(ctx, { schemas, at: Date.now() });
  return schemas.get(name);
}

/**
 * PUT of an event type. Fields left out keep their stored values (as PUT of a project keeps its
 * e-mails): an example, or a schema; `"schema": null` removes the schema.
 */
export async function putEventType(ctx: Context, name: string, body: { description?: unknown; example?: unknown; schema?: unknown }) {
  const t = checkEventType(name, body);
  if (body.example === undefined || body.schema === undefined) {
    const existing = (await store.listEventTypes(ctx.store.db)).find((row) => row.name === t.name);
    if (existing && body.example === undefined) t.example = JSON.parse(existing.example) as unknown;
    if (existing && body.schema === undefined) t.schema = existing.schema === null ? null : (JSON.parse(existing.schema) as unknown);
  }
  await store.upsertEventTypes(ctx.store.db, [t], ctx.now());
  cachedSchemas.delete(ctx);
  return t;
}
