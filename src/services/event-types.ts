import fs from "node:fs";
import { ConfigError } from "../config.js";
import { DEFAULT_CATALOG, checkEventType, readCatalogFile, type CatalogFile } from "../domain/catalog.js";
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

export async function listEventTypes(ctx: Context) {
  return (await store.listEventTypes(ctx.store.db)).map(eventTypeView);
}

export async function catalogNames(ctx: Context): Promise<Set<string>> {
  return new Set((await store.listEventTypes(ctx.store.db)).map((t) => t.name));
}

/** How long cached catalog names are trusted (a type removed by another node's catalog file). */
const CATALOG_TTL_MS = 10_000;
const cachedNames = new WeakMap<Context, { names: Set<string>; at: number }>();

/**
 * Whether `name` is in the catalog, for the publish path (which asked the database on every call).
 * A name missing from the cache reloads it, so a type added by PUT on any node is known at its first
 * use; a PUT here drops the cache; and it expires, so a removed type goes too.
 */
export async function inCatalog(ctx: Context, name: string): Promise<boolean> {
  const hit = cachedNames.get(ctx);
  if (hit && Date.now() - hit.at < CATALOG_TTL_MS && hit.names.has(name)) return true;
  const names = await catalogNames(ctx);
  cachedNames.set(ctx, { names, at: Date.now() });
  return names.has(name);
}

export async function putEventType(ctx: Context, name: string, body: { description?: unknown; example?: unknown }) {
  const t = checkEventType(name, body);
  if (body.example === undefined) {
    // Changing only the description keeps the example (as PUT of a project keeps its e-mails).
    const existing = (await store.listEventTypes(ctx.store.db)).find((row) => row.name === t.name);
    if (existing) t.example = JSON.parse(existing.example) as unknown;
  }
  await store.upsertEventTypes(ctx.store.db, [t], ctx.now());
  cachedNames.delete(ctx);
  return { name: t.name, description: t.description, example: t.example };
}
