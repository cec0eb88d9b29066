/**
 * Type-level test of the library's typed event map (compiled by tsc, never run): every line marked
 * `@ts-expect-error` must fail to compile, and every other line must compile.
 * test/unit/library-types.test.ts compiles this file on its own, so `npm test` checks it too.
 */
import { createHookline, type Hookline, type PublishResult } from "../../src/index.js";

interface TestRun {
  id: string;
  status: "passed" | "failed";
}
interface Issue {
  id: string;
  title: string;
}
interface MyEvents {
  "test-run.completed": TestRun;
  "issue.created": Issue;
}

export async function typedPublish(): Promise<void> {
  const hookline = await createHookline<MyEvents>({ databaseUrl: "./data/types.db" });
  const ok: PublishResult = await hookline.publish("acme", "test-run.completed", { id: "TR-1", status: "passed" });
  void ok;
  await hookline.publish("acme", "issue.created", { id: "BUG-1", title: "Broken" }, { idempotencyKey: "k", source: "import" });

  // @ts-expect-error an event that is not in the map
  await hookline.publish("acme", "test-run.deleted", { id: "TR-1", status: "passed" });
  // @ts-expect-error the subject of another event
  await hookline.publish("acme", "test-run.completed", { id: "BUG-1", title: "Broken" });
  // @ts-expect-error a subject with a wrong field type
  await hookline.publish("acme", "test-run.completed", { id: "TR-1", status: "skipped" });
  // @ts-expect-error a subject missing a required field
  await hookline.publish("acme", "issue.created", { id: "BUG-1" });
  // @ts-expect-error an unknown publish option
  await hookline.publish("acme", "issue.created", { id: "BUG-1", title: "x" }, { idempotency: "k" });
  // @ts-expect-error source is "app" or "import"
  await hookline.publish("acme", "issue.created", { id: "BUG-1", title: "x" }, { source: "bulk" });

  await hookline.webhooks.create("acme", { name: "CI", events: ["issue.created"], url: "https://ci.example.com/hook" });
  // @ts-expect-error webhooks subscribe to events of the map
  await hookline.webhooks.create("acme", { name: "CI", events: ["issue.closed"], url: "https://ci.example.com/hook" });

  const count: number = await hookline.withoutWebhooks(async () => {
    const r = await hookline.publish("acme", "issue.created", { id: "BUG-2", title: "Imported" });
    return r.deliveries;
  });
  void count;
  await hookline.close();
}

export async function untypedPublish(): Promise<void> {
  // Without a map, any event name and any object subject are accepted (checked at run time).
  const hookline: Hookline = await createHookline({ databaseUrl: "postgres://localhost/hookline", retryDelaysMs: [1000, 5000] });
  await hookline.publish("acme", "anything.happened", { whatever: 1 });
  // @ts-expect-error a subject must be an object
  await hookline.publish("acme", "anything.happened", "text");
  // @ts-expect-error config options are typed
  await createHookline({ timeoutMs: "10s" });
  // @ts-expect-error unknown config options are refused
  await createHookline({ databseUrl: "./x.db" });
  await hookline.close();
}
