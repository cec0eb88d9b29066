/**
 * Slow clients (slowloris): a request whose headers or body drip in byte by byte is cut off with
 * `408 request_timeout` in the spec's shape and its socket closed, instead of holding a connection
 * for as long as the client likes. Production waits 30 s for a whole request; this test builds the
 * same API with a 1 s limit so the cut-off can be watched.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi, REQUEST_TIMEOUT_MS } from "../../src/api/app.js";
import { WITH_POOLER } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";

describe.each(WITH_POOLER)("slow clients (%s)", (dialect) => {
  let hl: TestHookline;
  let fast: Awaited<ReturnType<typeof buildApi>>;
  let port: number;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.project("acme");
    fast = await buildApi(hl.runtime.ctx, hl.runtime.creds, hl.runtime.metrics, { ui: false, requestTimeoutMs: 1000, timeoutCheckIntervalMs: 100 });
    port = Number(new URL(await fast.listen({ port: 0, host: "127.0.0.1" })).port);
  });
  afterAll(async () => {
    await fast?.close();
    await hl?.close();
  });

  it("serve waits at most 30 s for a whole request (Fastify's default would wait forever)", () => {
    const server = hl.runtime.api!.server;
    expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(30_000);
    expect(server.headersTimeout).toBeLessThanOrEqual(60_000);
  });

  /** Writes `head`, then drips `drip` a byte every 100 ms; answers what came back, and when the socket closed. */
  function dripping(head: string, drip: string): Promise<{ answer: string; closedAfterMs: number }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(head));
      let answer = "";
      let i = 0;
      const timer = setInterval(() => (i < drip.length && !socket.destroyed ? socket.write(drip[i++]) : undefined), 100);
      socket.on("data", (d) => (answer += d.toString("latin1")));
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(timer);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
    });
  }

  it.each([
    [
      "a body",
      `POST /api/v1/projects/acme/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
      `{"event":"issue.created","subject":{"x":"${"y".repeat(900)}"}}`,
    ],
    ["the headers", "GET /api/v1/projects HTTP/1.1\r\n", `Host: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nX-Slow: ${"z".repeat(200)}\r\n\r\n`],
  ])("%s dripping in byte by byte is cut off with 408 request_timeout", async (_what, head, drip) => {
    const before = (
      await hl.runtime.ctx.store.db
        .selectFrom("events")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n;
    const { answer, closedAfterMs } = await dripping(head, drip);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(3000);
    const [status, body] = answer.split("\r\n\r\n");
    expect(status).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(body)).toEqual({ error: { code: "request_timeout", message: expect.any(String) } });
    const after = (
      await hl.runtime.ctx.store.db
        .selectFrom("events")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n;
    expect(Number(after)).toBe(Number(before));
  });
});
