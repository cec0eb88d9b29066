import type { ApiClient } from "../api/client";
import type { EventType } from "../api/types";

let cache: Promise<EventType[]> | null = null;

/** The catalog rarely changes; one fetch per page load, retried after a failure. */
export function loadEventTypes(client: ApiClient): Promise<EventType[]> {
  if (!cache) {
    cache = client
      .get<{ data: EventType[] }>("/event-types")
      .then((r) => r.data.filter((t) => t.name !== "test-event"))
      .catch((err) => {
        cache = null;
        throw err;
      });
  }
  return cache;
}

/** `test-run.completed` → group `test-run`. */
export function groupEventTypes(types: EventType[]): [string, EventType[]][] {
  const groups = new Map<string, EventType[]>();
  for (const t of types) {
    const g = t.name.includes(".") ? t.name.slice(0, t.name.lastIndexOf(".")) : "other";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(t);
  }
  return [...groups.entries()];
}

export function humanGroup(group: string): string {
  const words = group.replace(/[-_.]/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
