import { describe, expect, it } from "vitest";
import { fairShares } from "../../src/store/queue/fair-share.js";
import type { Candidate } from "../../src/store/queue/types.js";

const hook = (id: string, project_id: string, limit = 16, busy = 0, suspect = false): Candidate => ({
  id,
  project_id,
  limit,
  busy,
  suspect,
  rate: null,
  tat: null,
  fifo: false,
  head: null,
});
const first = () => 0;

describe("sharing a claim's slots", () => {
  it("goes round-robin across projects, so a project with many webhooks gets no more turns than one with a single webhook", () => {
    const c = [hook("a1", "A"), hook("a2", "A"), hook("a3", "A"), hook("b1", "B")];
    const { quota } = fairShares(c, 4, 4, undefined, first);
    expect((quota.get("a1") ?? 0) + (quota.get("a2") ?? 0) + (quota.get("a3") ?? 0)).toBe(2);
    expect(quota.get("b1")).toBe(2);
  });
  it("resumes after the project served last, so one slot at a time still reaches every project", () => {
    const c = [hook("a1", "A"), hook("b1", "B"), hook("c1", "C")];
    const served: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 3; i++) {
      const s = fairShares(c, 1, 1, after, first);
      after = s.lastProject;
      served.push(after!);
    }
    expect(served).toEqual(["A", "B", "C"]);
  });
  it("gives a webhook no more than its free slots, and says when slots ran out first", () => {
    const s = fairShares([hook("a1", "A", 4, 3), hook("b1", "B", 4, 0)], 10, 10, undefined, first);
    expect(s.quota.get("a1")).toBe(1);
    expect(s.quota.get("b1")).toBe(4);
    expect(s.more).toBe(false);
    expect(fairShares([hook("a1", "A", 4, 0)], 2, 2, undefined, first).more).toBe(true);
  });
  it("keeps webhooks whose attempts time out to the suspect share", () => {
    const s = fairShares([hook("s1", "A", 1, 0, true), hook("s2", "B", 1, 0, true), hook("s3", "C", 1, 0, true), hook("ok", "D")], 8, 1, undefined, first);
    const suspects = ["s1", "s2", "s3"].reduce((n, id) => n + (s.quota.get(id) ?? 0), 0);
    expect(suspects).toBe(1);
    expect(s.quota.get("ok")).toBe(7);
  });
});
