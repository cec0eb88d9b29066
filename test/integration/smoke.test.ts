import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

describe.each(DIALECTS)("smoke (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect, worker: true, ca: rx.ca });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("publishes and delivers", async () => {
    await hl.project("acme");
    const wh = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "a", events: ["test-run.completed"], url: rx.url, secret: "s3cret" });
    expect(wh.status).toBe(201);
    const pub = await hl.api("POST", "/api/v1/projects/acme/events", { event: "test-run.completed", subject: { id: "TR-1" } });
    expect(pub.status).toBe(202);
    expect(pub.body.deliveries).toBe(1);
    await rx.waitFor(1, 5000);
    const req = rx.requests[0];
    expect(req.headers["hookline-event"]).toBe("test-run.completed");
    const logs = await (async () => {
      for (let i = 0; i < 50; i++) {
        const r = await hl.api("GET", `/api/v1/projects/acme/webhooks/${wh.body.id}/logs`);
        if (r.body.data.length) return r.body;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("no log");
    })();
    expect(logs.data[0].success).toBe(true);
  });
});
