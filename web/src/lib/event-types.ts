import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../api/client";
import { keys } from "../api/keys";
import type { EventType } from "../api/types";

const withoutTest = (r: { data: EventType[] }) => r.data.filter((t) => t.name !== "test-event");

/** The catalog (without `test-event`). It rarely changes: fetched once per session, again after a failure. */
export function useEventTypes(): { types: EventType[] | null; error: string | null } {
  const q = useQuery({ queryKey: keys.eventTypes(), staleTime: Infinity, select: withoutTest });
  return { types: q.data ?? null, error: q.error ? errorMessage(q.error) : null };
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
