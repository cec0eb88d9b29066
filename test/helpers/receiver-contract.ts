/**
 * What every receiver example must do, checked against real Hookline deliveries (the library,
 * imported by its package name so the `exports` map is exercised too) and against requests signed
 * by the `standardwebhooks` package: accept genuine ones, refuse forged, tampered, stale or unsigned
 * ones with 400, and hand each delivery id to the handler once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createHookline, type Hookline } from "hookline";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./databases.js";

export interface ExampleEvent {
  id: string;
  event: string;
  project_id: string;
  subject: Record<string, unknown>;
}

export interface RunningExample {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

export type StartExample = (opts: { secret: string; onEvent: (e: ExampleEvent, deliveryId: string) => void }) => Promise<RunningExample>;

const SECRET = "whsec_example-receiver-secret";

export function receiverContract(name: string, start: StartExample): void {
  describe(`${name} receiver example`, () => {
    let db: TestDatabase;
    let hookline: Hookline;
    let receiver: RunningExample;
    let endpoint: string;
    const handled: Array<{ event: ExampleEvent; deliveryId: string }> = [];

    beforeAll(async () => {
      db = await createTestDatabase("sqlite");
      receiver = await start({ secret: SECRET, onEvent: (event, deliveryId) => handled.push({ event, deliveryId }) });
      endpoint = `${receiver.url}/webhooks/hookline`;
      hookline = await createHookline({
        databaseUrl: db.url,
        adminToken: "example-admin-token-0123456789",
        secretKey: "example-secret-key-0123456789abcdef0123",
        allowHttp: true,
        allowPrivateNetworks: ["127.0.0.0/8"],
        retryDelaysMs: [100],
        logLevel: "silent",
      });
      hookline.startWorker();
      await hookline.projects.put("acme", { name: "Acme" });
    });
    afterAll(async () => {
      await hookline?.close();
      await receiver?.close();
      await db?.drop();
    });

    async function lastLog(webhookId: string) {
      for (let i = 0; i < 200; i++) {
        const page = await hookline.logs.list("acme", webhookId);
        if (page.data.length) return page.data[0];
        await sleep(25);
      }
      throw new Error("no delivery attempt was logged");
    }

    async function waitHandled(count: number) {
      for (let i = 0; i < 200 && handled.length < count; i++) await sleep(25);
      expect(handled).toHaveLength(count);
    }

    it("accepts a real Hookline delivery and hands the event to the handler", async () => {
      const wh = await hookline.webhooks.create("acme", { name: "real", events: ["test-run.completed"], url: endpoint, secret: SECRET });
      const published = await hookline.publish("acme", "test-run.completed", { id: "TR-7", status: "passed" });
      expect(await lastLog(wh.id)).toMatchObject({ success: true, status_code: 204 });
      await waitHandled(1);
      expect(handled[0].event).toMatchObject({ id: published.id, event: "test-run.completed", project_id: "acme", subject: { id: "TR-7", status: "passed" } });
      expect(handled[0].deliveryId).toMatch(/^dlv_/);

      // The Test action's delivery verifies the same way.
      const test = await hookline.webhooks.test("acme", wh.id);
      await waitHandled(2);
      expect(handled[1]).toMatchObject({ deliveryId: test.delivery_id, event: { event: "test-event" } });
      await hookline.webhooks.delete("acme", wh.id);
    });

    it("refuses a real delivery signed with another secret, and one without a secret", async () => {
      const wrong = await hookline.webhooks.create("acme", { name: "wrong", events: ["issue.created"], url: endpoint, secret: "whsec_not-the-receivers" });
      await hookline.webhooks.test("acme", wrong.id);
      expect(await lastLog(wrong.id)).toMatchObject({ success: false, status_code: 400 });
      const unsigned = await hookline.webhooks.create("acme", { name: "unsigned", events: ["issue.created"], url: endpoint });
      await hookline.webhooks.test("acme", unsigned.id);
      expect(await lastLog(unsigned.id)).toMatchObject({ success: false, status_code: 400 });
      const detail = await hookline.logs.get("acme", unsigned.id, (await lastLog(unsigned.id)).id);
      expect(JSON.parse(detail.response!.body)).toMatchObject({ error: "missing_header" });
      await hookline.webhooks.delete("acme", wrong.id);
      await hookline.webhooks.delete("acme", unsigned.id);
    });

    describe("requests signed by the standardwebhooks package", () => {
      const signer = new Webhook(SECRET, { format: "raw" });
      const send = (id: string, body: string, at = new Date(), sentBody = body) =>
        fetch(endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": signer.sign(id, at, body),
          },
          body: sentBody,
        });
      const body = (id: string) =>
        JSON.stringify({ id: `evt_${id}`, event: "issue.created", created_at: new Date().toISOString(), project_id: "acme", subject: { id } });

      it("accepts them, and hands a repeated delivery id to the handler only once", async () => {
        const before = handled.length;
        const first = await send("dlv_sw1", body("sw1"));
        expect(first.status).toBe(204);
        const again = await send("dlv_sw1", body("sw1"));
        expect(again.status).toBe(200);
        expect(await again.json()).toEqual({ duplicate: true });
        await waitHandled(before + 1);
        expect(handled[before]).toMatchObject({ deliveryId: "dlv_sw1", event: { subject: { id: "sw1" } } });
      });

      it("refuses a changed body, a stale timestamp and a forged signature", async () => {
        const tampered = await send("dlv_sw2", body("sw2"), new Date(), JSON.stringify(JSON.parse(body("sw2")), null, 2));
        expect(tampered.status).toBe(400);
        expect(await tampered.json()).toMatchObject({ error: "invalid_signature" });

        const stale = await send("dlv_sw3", body("sw3"), new Date(Date.now() - 10 * 60_000));
        expect(stale.status).toBe(400);
        expect(await stale.json()).toMatchObject({ error: "timestamp_out_of_tolerance" });

        const forged = new Webhook("whsec_attacker", { format: "raw" });
        const at = new Date();
        const res = await fetch(endpoint, {
          method: "POST",
          headers: {
            "webhook-id": "dlv_sw4",
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": forged.sign("dlv_sw4", at, body("sw4")),
          },
          body: body("sw4"),
        });
        expect(res.status).toBe(400);
      });
    });
  });
}
