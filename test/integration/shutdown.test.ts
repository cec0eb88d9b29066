/** Graceful shutdown: SIGTERM stops claiming, lets the in-flight attempt finish, records it, exits 0. */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { ADMIN_TOKEN } from "../helpers/hookline.js";
import { caFile, runCli } from "../helpers/process.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe.each(DIALECTS)("graceful shutdown (%s)", (dialect) => {
  let rx: Receiver;
  let db: TestDatabase;
  beforeAll(async () => {
    rx = await startReceiver();
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await rx?.close();
    await db?.drop();
  });

  it("finishes and records the in-flight attempt on SIGTERM", async () => {
    const port = await freePort();
    const env = {
      DATABASE_URL: db.url,
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789",
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
      NODE_EXTRA_CA_CERTS: caFile(rx.ca),
      HOOKLINE_TIMEOUT_MS: "5000",
      LOG_LEVEL: "info",
    };
    const proc = runCli(["serve", "--port", String(port)], env);
    await proc.waitForOutput(/hookline is listening/);
    const base = `http://127.0.0.1:${port}/api/v1`;
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    await fetch(`${base}/projects/acme`, { method: "PUT", headers, body: JSON.stringify({ name: "Acme" }) });
    const hook: any = await (
      await fetch(`${base}/projects/acme/webhooks`, { method: "POST", headers, body: JSON.stringify({ name: "slow", events: ["issue.created"], url: rx.url }) })
    ).json();
    rx.respondWith({ status: 200, delayMs: 1500 });
    await fetch(`${base}/projects/acme/events`, { method: "POST", headers, body: JSON.stringify({ event: "issue.created", subject: { id: 1 } }) });
    await rx.waitFor(1);
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toMatch(/shutting down/);
    // Restart read-only on the same database: the attempt was recorded as a success, nothing pending.
    const again = runCli(["serve", "--port", String(port), "--no-worker"], env);
    await again.waitForOutput(/hookline is listening/);
    const logs: any = await (await fetch(`${base}/projects/acme/webhooks/${hook.id}/logs`, { headers })).json();
    expect(logs.data).toHaveLength(1);
    expect(logs.data[0]).toMatchObject({ success: true, status_code: 200 });
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
    expect(rx.requests).toHaveLength(1);
  });
});
