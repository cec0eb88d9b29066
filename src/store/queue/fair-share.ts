/**
 * How a claim shares a worker's free slots: round-robin across projects (starting after the project
 * the previous claim served last), and within a project round-robin across its webhooks, one
 * delivery per turn, each webhook up to its free slots (limit − live leases). Webhooks whose
 * attempts time out (suspect) share at most `suspectWant` of the slots. Pure: unit-tested alone.
 */
import type { Candidate } from "./types.js";

export interface Shares {
  /** Deliveries to take per webhook (oldest first). */
  quota: Map<string, number>;
  lastProject?: string;
  /** Slots ran out before every candidate's free slots were offered. */
  more: boolean;
}

export function fairShares(candidates: Candidate[], want: number, suspectWant: number, afterProject?: string, random = Math.random): Shares {
  const byProject = new Map<string, Candidate[]>();
  for (const c of candidates) {
    if (c.busy >= c.limit) continue;
    const list = byProject.get(c.project_id) ?? [];
    list.push(c);
    byProject.set(c.project_id, list);
  }
  const projects = [...byProject.keys()].sort();
  const start = afterProject === undefined ? 0 : projects.findIndex((p) => p > afterProject);
  const order = start <= 0 ? projects : [...projects.slice(start), ...projects.slice(0, start)];
  // Each project's webhooks in a rotated order, so that no webhook always goes first.
  const queues = order.map((p) => {
    const hooks = byProject.get(p)!.sort((a, b) => (a.id < b.id ? -1 : 1));
    const r = Math.floor(random() * hooks.length);
    return { project: p, hooks: [...hooks.slice(r), ...hooks.slice(0, r)], next: 0 };
  });
  const quota = new Map<string, number>();
  const free = (c: Candidate) => c.limit - c.busy - (quota.get(c.id) ?? 0);
  let left = want;
  let suspectLeft = suspectWant;
  let lastProject: string | undefined;
  let active = queues;
  while (active.length > 0 && left > 0) {
    const still: typeof active = [];
    for (const q of active) {
      if (left === 0) break;
      // The project's next webhook that can take one more.
      let picked: Candidate | undefined;
      for (let i = 0; i < q.hooks.length && !picked; i++) {
        const c = q.hooks[(q.next + i) % q.hooks.length];
        if (free(c) <= 0 || (c.suspect && suspectLeft === 0)) continue;
        picked = c;
        q.next = (q.next + i + 1) % q.hooks.length;
      }
      if (!picked) continue;
      quota.set(picked.id, (quota.get(picked.id) ?? 0) + 1);
      left--;
      if (picked.suspect) suspectLeft--;
      lastProject = q.project;
      still.push(q);
    }
    active = still;
  }
  const more = candidates.some((c) => free(c) > 0);
  return { quota, lastProject, more };
}
