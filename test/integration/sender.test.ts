import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { Sender, type SenderOptions } from "../../src/delivery/sender.js";
import type { UrlPolicy } from "../../src/domain/url-policy.js";
import { startReceiver, type Receiver, type ReceiverOptions } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const loopbackAllowed: UrlPolicy = { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: ["127.0.0.0/8"] };
const strict: UrlPolicy = { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] };

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function receiver(opts?: ReceiverOptions): Promise<Receiver> {
  const r = await startReceiver(opts);
  open.push(r);
  return r;
}

function sender(ca: string | undefined, opts: Partial<SenderOptions> = {}): Sender {
  const s = new Sender({ timeoutMs: 5000, urlPolicy: loopbackAllowed, ca, ...opts });
  open.push(s);
  return s;
}

/** A resolver answering from a table, shaped like dns.lookup; records the names asked. */
function fakeDns(table: Record<string, string[]>, asked: string[] = []): LookupFunction {
  return (hostname, options, callback) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", syscall: "getaddrinfo" });
      return process.nextTick(() => callback(err, ""));
    }
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    process.nextTick(() => (options.all ? callback(null, all) : callback(null, all[0].address, all[0].family)));
  };
}

const post = (url: string, body = "{}", webhookId = "wh_1") => ({ webhookId, url, headers: { "content-type": "application/json" }, body });

describe("Sender", () => {
  it("delivers the exact body and headers and captures a 2xx answer", async () => {
    const r = await receiver({ respond: { status: 201, body: "thanks", headers: { "x-multi": ["a", "b"] } } });
    const body = JSON.stringify({ id: "evt_1", subject: { title: "héllo ✓ 🚀" } });
    const headers = { "Content-Type": "application/json", "Hookline-Event": "test-event", "Hookline-Attempt": "1" };
    const result = await sender(r.ca).send({ webhookId: "wh_1", url: `${r.url}/hooks?x=1`, headers, body });

    expect(result).toMatchObject({ success: true, statusCode: 201, error: null });
    expect(result.response).toMatchObject({ status: 201, body: "thanks", truncated: false });
    expect(result.response?.headers["x-multi"]).toBe("a, b");
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const [got] = r.requests;
    expect(got).toMatchObject({ method: "POST", path: "/hooks?x=1", body });
    expect(got.headers).toMatchObject({
      "content-type": "application/json",
      "hookline-event": "test-event",
      "hookline-attempt": "1",
      "content-length": String(Buffer.byteLength(body)),
    });
  });

  it("fails a non-2xx answer with its status and no error", async () => {
    const r = await receiver({ respond: { status: 503, body: "busy" } });
    const result = await sender(r.ca).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: 503, error: null });
    expect(result.response?.body).toBe("busy");
  });

  it.each([301, 302])("does not follow a %i redirect", async (status) => {
    const r = await receiver();
    r.respondWith({ status, redirectTo: `${r.url}/elsewhere` });
    const result = await sender(r.ca).send(post(`${r.url}/hook`));
    expect(result).toMatchObject({ success: false, statusCode: status, error: null });
    expect(result.response?.headers.location).toBe(`${r.url}/elsewhere`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.requests.map((q) => q.path)).toEqual(["/hook"]);
  });

  it("times out a hanging endpoint", async () => {
    const r = await receiver({ respond: { hang: true } });
    const result = await sender(r.ca, { timeoutMs: 300 }).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: null, error: "Timed out after 300 ms", response: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(295);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it("keeps only 64 KiB of a multi-MB body and stops reading", async () => {
    const r = await receiver({ respond: { bodyBytes: 512 * 1024 * 1024 } });
    const result = await sender(r.ca, { timeoutMs: 10_000 }).send(post(r.url));
    expect(result).toMatchObject({ success: true, statusCode: 200, error: null });
    expect(result.response?.truncated).toBe(true);
    expect(result.response?.body).toHaveLength(65536);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it("captures response headers named like Object's own properties as they came", async () => {
    const r = await receiver({ respond: { status: 200, body: "", headers: { constructor: ["c1", "c2"] } } });
    const result = await sender(r.ca).send(post(r.url));
    expect(Object.hasOwn(result.response!.headers, "constructor")).toBe(true);
    expect(result.response?.headers.constructor).toBe("c1, c2");
  });

  it("does not mark a body of exactly maxResponseBytes as truncated", async () => {
    const r = await receiver({ respond: { bodyBytes: 1000 } });
    const result = await sender(r.ca, { maxResponseBytes: 1000 }).send(post(r.url));
    expect(result.response).toMatchObject({ truncated: false });
    expect(result.response?.body).toHaveLength(1000);
  });

  it("ends a response that streams forever at the timeout", async () => {
    const r = await receiver({ respond: { streamForever: true } });
    const result = await sender(r.ca, { timeoutMs: 300 }).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: 200 });
    expect(result.error).toBe("Timed out after 300 ms while reading the response body");
    expect(result.response?.truncated).toBe(true);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it("fails on an untrusted certificate", async () => {
    const r = await receiver();
    const result = await sender(undefined).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: null, response: null });
    expect(result.error).toMatch(/^TLS error: self[- ]signed certificate.* \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
    expect(r.requests).toHaveLength(0);
  });

  it("reports a refused connection", async () => {
    const r = await startReceiver();
    await r.close();
    const result = await sender(r.ca).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: null, error: `Connection refused by 127.0.0.1:${r.port}` });
  });

  it("reports a DNS failure", async () => {
    const result = await sender(undefined).send(post("https://nothing.invalid/hook"));
    expect(result.error).toMatch(/^DNS lookup failed for nothing\.invalid \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it("refuses literal loopback IPs unless the policy allows them", async () => {
    const r = await receiver();
    const s = sender(r.ca, { urlPolicy: strict });
    const v4 = await s.send(post(r.url));
    expect(v4).toMatchObject({ success: false, statusCode: null });
    expect(v4.error).toMatch(/^Blocked address 127\.0\.0\.1: .*127\.0\.0\.0\/8 \(loopback\)/);
    const mapped = await s.send(post(`https://[::ffff:127.0.0.1]:${r.port}/`));
    expect(mapped.error).toMatch(/^Blocked address ::ffff:7f00:1: .*loopback/);
    expect(r.connectionCount).toBe(0);
  });

  it.each(["127.0.0.1", "169.254.169.254"])("refuses a host name resolving to %s without connecting", async (ip) => {
    const r = await receiver();
    const asked: string[] = [];
    const s = sender(r.ca, { urlPolicy: strict, lookup: fakeDns({ "hooks.example.test": [ip] }, asked) });
    const result = await s.send(post(`https://hooks.example.test:${r.port}/`));
    expect(result).toMatchObject({ success: false, statusCode: null, response: null });
    expect(result.error).toMatch(new RegExp(`^Blocked address ${ip.replaceAll(".", "\\.")}: `));
    expect(asked).toEqual(["hooks.example.test"]);
    expect(r.connectionCount).toBe(0);
  });

  it("refuses a URL each time it is tried, and another sender's policy is its own", async () => {
    // A URL is parsed and checked once per sender; what was found is reused by its later attempts.
    const r = await receiver();
    const strictSender = sender(r.ca, { urlPolicy: strict });
    for (let i = 0; i < 3; i++) expect((await strictSender.send(post(r.url))).error).toMatch(/^Blocked address 127\.0\.0\.1: /);
    for (let i = 0; i < 3; i++) expect((await strictSender.send(post("not a url"))).error).toBe("Invalid URL: not a url");
    expect(r.connectionCount).toBe(0);
    const lenient = sender(r.ca);
    for (let i = 0; i < 3; i++) expect(await lenient.send(post(`${r.url}/a?b=${i}`))).toMatchObject({ success: true, statusCode: 200 });
    expect(r.requests.map((q) => q.path)).toEqual(["/a?b=0", "/a?b=1", "/a?b=2"]);
  });

  it("refuses a host name when any one of its addresses is private", async () => {
    const lookup = fakeDns({ "mixed.example.test": ["93.184.216.34", "10.0.0.5"] });
    const result = await sender(undefined, { urlPolicy: strict, lookup }).send(post("https://mixed.example.test/"));
    expect(result.error).toMatch(/^Blocked address 10\.0\.0\.5: .*10\.0\.0\.0\/8 \(private network\)/);
  });

  it("connects to the address the guarded lookup returned", async () => {
    // Nothing listens on 127.0.0.1 at this port, so success proves the checked address was used.
    const r = await receiver({ host: "127.0.0.2" });
    const lookup = fakeDns({ localhost: ["127.0.0.2"] });
    const result = await sender(r.ca, { lookup }).send(post(`https://localhost:${r.port}/`));
    expect(result).toMatchObject({ success: true, statusCode: 200 });
    expect(r.requests[0].headers.host).toBe(`localhost:${r.port}`);
  });

  it("reuses one keep-alive connection for sequential sends", async () => {
    const r = await receiver();
    // Capped at 1: back-to-back sends may otherwise race undici's pool (the body ends a tick before
    // the socket is marked free) and open a second socket, which would hide nothing about reuse.
    const s = sender(r.ca, { connectionsPerWebhook: 1 });
    for (let i = 0; i < 5; i++) expect((await s.send(post(r.url))).success).toBe(true);
    expect(r.requests).toHaveLength(5);
    expect(r.connectionCount).toBe(1);
  });

  it("does not let a hanging endpoint delay another one", async () => {
    const [slow, fast] = await Promise.all([receiver({ respond: { hang: true } }), receiver()]);
    const s = sender(undefined, { ca: [slow.ca, fast.ca], timeoutMs: 3000 });
    const hanging = s.send(post(slow.url));
    await slow.waitFor(1);
    const started = performance.now();
    const quick = await Promise.all([1, 2, 3].map(() => s.send(post(fast.url))));
    expect(quick.every((q) => q.success)).toBe(true);
    // Generous for a loaded CI machine, still far below the hanging attempt's 3 s timeout.
    expect(performance.now() - started).toBeLessThan(1500);
    expect((await hanging).error).toBe("Timed out after 3000 ms");
  });

  it("keeps each webhook's connections its own: a webhook hanging on a shared origin never delays another webhook there", async () => {
    const r = await receiver({ respond: (req) => (req.path.startsWith("/hang") ? { hang: true } : { status: 200 }) });
    const s = sender(r.ca, { timeoutMs: 3000, connectionsPerWebhook: 4 });
    // More hanging attempts than the webhook has connections: the rest queue on its own pool.
    // 20: more than the 16 connections one pool per origin would have held for the whole host.
    const hanging = Array.from({ length: 20 }, (_, i) => s.send(post(`${r.url}/hang/${i}`, "{}", "wh_hang")));
    await r.waitFor(4);
    const started = performance.now();
    const quick = await Promise.all([1, 2, 3].map((i) => s.send(post(`${r.url}/ok/${i}`, "{}", "wh_ok"))));
    expect(quick.map((q) => q.error)).toEqual([null, null, null]);
    expect(performance.now() - started).toBeLessThan(1500);
    // The hanging webhook never had more than its own four connections.
    expect(r.requests.filter((q) => q.path.startsWith("/hang"))).toHaveLength(4);
    expect((await Promise.all(hanging)).every((h) => h.error === "Timed out after 3000 ms")).toBe(true);
  });

  it("resumes TLS sessions across the webhooks of one origin", async () => {
    const r = await receiver();
    const resumed: boolean[] = [];
    r.server.on("secureConnection", (socket: TLSSocket) => resumed.push(socket.isSessionReused()));
    const s = sender(r.ca);
    expect((await s.send(post(r.url, "{}", "wh_a"))).success).toBe(true);
    expect((await s.send(post(r.url, "{}", "wh_b"))).success).toBe(true);
    // Two webhooks, two connections; the second one resumed the first one's session.
    expect(resumed).toEqual([false, true]);
  });

  it("closes a webhook's pool and its sockets once it has been idle", async () => {
    const r = await receiver();
    const s = sender(r.ca, { poolIdleMs: 300 });
    expect((await s.send(post(r.url))).success).toBe(true);
    expect(s.connections).toEqual({ pools: 1, sockets: 1 });
    await eventually(() => s.connections.pools === 0 && s.connections.sockets === 0, 3000, "the idle pool to close");
    await eventually(() => new Promise<boolean>((ok) => r.server.getConnections((_, n) => ok(n === 0))), 3000, "the receiver to see the socket closed");
    // A later attempt opens a new pool.
    expect((await s.send(post(r.url))).success).toBe(true);
    expect(r.connectionCount).toBe(2);
  });

  it("bounds the open sockets by closing the pools of idle webhooks, least recently used first", async () => {
    const r = await receiver();
    const s = sender(r.ca, { maxSockets: 2 });
    for (const hook of ["wh_a", "wh_b", "wh_c"]) expect((await s.send(post(r.url, "{}", hook))).success).toBe(true);
    await eventually(() => s.connections.sockets <= 2, 3000, "the sockets to fit the bound");
    expect(s.connections.pools).toBe(2);
    // wh_b kept its pool (and its socket); wh_a, used least recently, lost it.
    expect((await s.send(post(r.url, "{}", "wh_b"))).success).toBe(true);
    expect(r.connectionCount).toBe(3);
    expect((await s.send(post(r.url, "{}", "wh_a"))).success).toBe(true);
    expect(r.connectionCount).toBe(4);
  });

  it("opens sockets for attempts in flight past the bound: an attempt never waits for it", async () => {
    const r = await receiver({ respond: { status: 200, delayMs: 300 } });
    const s = sender(r.ca, { maxSockets: 1 });
    const results = await Promise.all(["wh_a", "wh_b", "wh_c"].map((hook) => s.send(post(r.url, "{}", hook))));
    expect(results.map((x) => x.success)).toEqual([true, true, true]);
    expect(Math.max(...results.map((x) => x.durationMs))).toBeLessThan(1000);
  });

  it("aborts an attempt through the caller's signal", async () => {
    const r = await receiver({ respond: { hang: true } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await sender(r.ca).send(post(r.url), controller.signal);
    expect(result).toMatchObject({ success: false, statusCode: null, error: "Attempt aborted (shutting down)" });
    expect(result.durationMs).toBeLessThan(1000);
  });

  it("fails when response headers exceed 16 KiB", async () => {
    const r = await receiver({ respond: { headers: { "x-big": "y".repeat(20_000) } } });
    const result = await sender(r.ca).send(post(r.url));
    expect(result).toMatchObject({ success: false, statusCode: null, error: "Response headers exceed 16384 bytes" });
  });

  it("refuses plain http unless allowed, and never throws after close", async () => {
    const s = sender(undefined);
    expect((await s.send(post("http://127.0.0.1:1/"))).error).toBe("Refused URL scheme http: (only https is allowed)");
    await s.close();
    expect((await s.send(post("https://127.0.0.1:1/"))).error).toBe("Sender is shut down");
  });
});
