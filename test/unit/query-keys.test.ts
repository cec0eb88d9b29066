/**
 * The UI's query-key factory (web/src/api/keys.ts). A cache key must name exactly one API answer:
 * the overview's webhook list (with `include=last_delivery`) and the settings page's plain list once
 * shared a key, so whichever page loaded last showed the other's answer.
 */
import { hashKey, partialMatchKey } from "@tanstack/query-core";
import { expect, it } from "vitest";
import { apiPath, keys, samePath, type ApiKey } from "../../web/src/api/keys.js";

/** How TanStack Query decides that `invalidateQueries` / `setQueriesData` with `prefix` reach `key`. */
const matches = (key: ApiKey, prefix: readonly unknown[]) => partialMatchKey(key, prefix);

it("gives the list with and without last_delivery different keys, each naming its own request", () => {
  const withLast = keys.webhooks("acme", { lastDelivery: true });
  const plain = keys.webhooks("acme");
  expect(hashKey(withLast)).not.toBe(hashKey(plain));
  expect(apiPath(withLast)).toBe("/projects/acme/webhooks?include=last_delivery");
  expect(apiPath(plain)).toBe("/projects/acme/webhooks");
});

it("maps distinct requests to distinct keys, and every key back to its request", () => {
  const all: ApiKey[] = [
    keys.me(),
    keys.projects(),
    keys.eventTypes(),
    keys.project("acme"),
    keys.project("a/b"),
    keys.webhooks("acme"),
    keys.webhooks("acme", { lastDelivery: true }),
    keys.webhooks("other"),
    keys.webhook("acme", "wh_1"),
    keys.log("acme", "wh_1", "log_1"),
    keys.logs("acme", "wh_1", { limit: 25 }),
    keys.logs("acme", "wh_1", { limit: 25, success: "false" }),
    keys.logs("acme", "wh_1", { limit: 25, success: "", event: "test-event" }),
    keys.stats("acme", "wh_1", 24),
    keys.notifications("acme"),
  ];
  const paths = all.map(apiPath);
  expect(new Set(paths).size).toBe(all.length);
  expect(new Set(all.map(hashKey)).size).toBe(all.length);
  expect(paths).toContain("/projects/a%2Fb");
  expect(paths).toContain("/projects/acme/webhooks/wh_1/logs?limit=25&event=test-event");
  expect(paths).toContain("/projects/acme/webhooks/wh_1/stats?hours=24");
});

it("lets one prefix reach both lists of a project, and nothing else", () => {
  const lists = samePath(keys.webhooks("acme"));
  expect(matches(keys.webhooks("acme"), lists)).toBe(true);
  expect(matches(keys.webhooks("acme", { lastDelivery: true }), lists)).toBe(true);
  expect(matches(keys.webhook("acme", "wh_1"), lists)).toBe(false);
  expect(matches(keys.webhooks("other"), lists)).toBe(false);
  expect(matches(keys.project("acme"), lists)).toBe(false);
});
