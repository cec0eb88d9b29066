/**
 * A recover of 100,000 events neither blocks the API nor starves other webhooks: it is written a
 * page at a time with the event loop free in between, and its deliveries go through the fair claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const COUNT = 100_000;

describe.each(DIALECTS)("recover of %s: 100,000 events", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver({ respond: { status: 200 } });
    hl = await startHookline({ dialect, worker: true, ca: rx.ca });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("answers the API meanwhile, and another webhook's new event is delivered within seconds", async () => {
    await hl.project("big");
    const big = (await hl.api("POST", "/api/v1/projects/big/webhooks", { name: "big", events: ["issue.created"], url: `${rx.url}/big` })).body;
    const quiet = (await hl.api("POST", "/api/v1/projects/big/webhooks", { name: "quiet", events: ["risk.created"], url: `${rx.url}/quiet` })).body;
    // Events published while "big" was off (written straight to the table: publishing 100,000 through the API is not what is measured).
    const start = Date.now() - 3600_000;
    const db = hl.runtime.ctx.store.db;
    for (let i = 0; i < COUNT; i += 1000) {
      const rows = Array.from({ length: Math.min(1000, COUNT - i) }, (_, j) => {
        const at = start + i + j;
        const id = newId("evt", at);
        return {
          id,
          project_id: "big",
          event: "issue.created",
          payload: JSON.stringify({ id, event: "issue.created", created_at: new Date(at).toISOString(), project_id: "big", subject: { n: i + j } }),
          created_at: at,
        };
      });
      await db.insertInto("events").values(rows).execute();
    }
    await db
      .updateTable("webhooks")
      .set({ created_at: start - 1000 })
      .where("id", "=", big.id)
      .execute();

    const latencies: number[] = [];
    let done = false;
    const probe = (async () => {
      while (!done) {
        const t = performance.now();
        expect((await hl.api("GET", "/api/v1/projects/big/webhooks")).status).toBe(200);
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const began = Date.now();
    const recovering = hl.api("POST", `/api/v1/projects/big/webhooks/${big.id}/recover`, { since: new Date(start - 1000).toISOString() });
    // While it runs (and while its deliveries drain), a new event of another webhook goes out promptly.
    await new Promise((r) => setTimeout(r, 300));
    const published = Date.now();
    await hl.api("POST", "/api/v1/projects/big/events", { event: "risk.created", subject: { id: "R-1" } });
    const [quietReq] = await rx.waitFor(1, 20_000).then(
      () =>
        new Promise<typeof rx.requests>((resolve) => {
          const check = () => (rx.requests.some((r) => r.path === "/quiet") ? resolve(rx.requests.filter((r) => r.path === "/quiet")) : setTimeout(check, 20));
          check();
        }),
    );
    const quietDelay = quietReq.receivedAt.getTime() - published;
    const res = await recovering;
    done = true;
    await probe;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    console.log(
      `${dialect}: recover of ${COUNT} in ${Date.now() - began} ms; API p99 ${p99.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms over ${latencies.length} calls; quiet webhook's event after ${quietDelay} ms`,
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveries: COUNT });
    expect(quietDelay).toBeLessThan(5000);
    expect(latencies.at(-1)!).toBeLessThan(3000);
    void quiet;
  }, 300_000);
});
