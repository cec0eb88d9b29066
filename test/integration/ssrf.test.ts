/**
 * SSRF, end to end (SPEC §2, §3). A public-looking host name may resolve anywhere: the worker checks
 * every resolved address and connects only to checked ones, so a name pointing at loopback, a private
 * network, the cloud metadata service or an IPv6 form of those is refused with a clear entry in the
 * delivery log and no connection at all. Redirects are never followed. HOOKLINE_ALLOW_PRIVATE_NETWORKS
 * lists open exactly the ranges named. DNS is a table (the `lookup` hook); everything else is real.
 */
import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sender } from "../../src/delivery/sender.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

/** A resolver answering from a table, shaped like dns.lookup. */
function tableDns(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const addresses = table[hostname.toLowerCase()];
    if (!addresses) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", syscall: "getaddrinfo" });
      return process.nextTick(() => callback(err, ""));
    }
    const all: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    process.nextTick(() => (options.all ? callback(null, all) : callback(null, all[0].address, all[0].family)));
  };
}

/** [host name, what it resolves to, what the log must say]. */
const BLOCKED: Array<[string, string[], RegExp]> = [
  ["loopback.hookline.test", ["127.0.0.1"], /^Blocked address 127\.0\.0\.1: in 127\.0\.0\.0\/8 \(loopback\)$/],
  ["private.hookline.test", ["10.1.2.3"], /^Blocked address 10\.1\.2\.3: in 10\.0\.0\.0\/8 \(private network\)$/],
  ["metadata.hookline.test", ["169.254.169.254"], /^Blocked address 169\.254\.169\.254: in 169\.254\.0\.0\/16 \(link-local\)$/],
  ["cgnat.hookline.test", ["100.64.0.1"], /^Blocked address 100\.64\.0\.1: in 100\.64\.0\.0\/10 \(carrier-grade NAT\)$/],
  ["zero.hookline.test", ["0.0.0.0"], /^Blocked address 0\.0\.0\.0: in 0\.0\.0\.0\/8/],
  [
    "mapped.hookline.test",
    ["::ffff:127.0.0.1"],
    /^Blocked address ::ffff:127\.0\.0\.1: .*IPv4-mapped form of 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\)$/,
  ],
  ["nat64.hookline.test", ["64:ff9b::7f00:1"], /^Blocked address 64:ff9b::7f00:1: .*NAT64 form of 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\)$/],
  ["sixtofour.hookline.test", ["2002:7f00:1::"], /^Blocked address 2002:7f00:1::: .*6to4 form of 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\)$/],
  ["v6loopback.hookline.test", ["::1"], /^Blocked address ::1: in ::1\/128 \(loopback\)$/],
  ["ula.hookline.test", ["fd12:3456::1"], /^Blocked address fd12:3456::1: in fc00::\/7/],
  // One bad address among good ones refuses the lot: the connection could go to any of them.
  ["mixed.hookline.test", ["93.184.216.34", "10.0.0.5"], /^Blocked address 10\.0\.0\.5: in 10\.0\.0\.0\/8 \(private network\)$/],
];

describe.each(DIALECTS)("SSRF guard at delivery time (%s)", (dialect) => {
  let rx: Receiver;
  let strict: TestHookline;
  const table: Record<string, string[]> = {};

  beforeAll(async () => {
    rx = await startReceiver();
    for (const [name, addresses] of BLOCKED) table[name] = addresses;
    strict = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      lookup: tableDns(table),
      env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "", HOOKLINE_RETRY_DELAYS: "" },
    });
    await strict.project("ssrf");
  });
  afterAll(async () => {
    await strict?.close();
    await rx?.close();
  });

  /** Creates a (disabled) webhook for `url`, sends it the Test event, and returns its log entry in full. */
  async function testDelivery(hl: TestHookline, url: string) {
    const created = await hl.api("POST", "/api/v1/projects/ssrf/webhooks", { name: url.slice(0, 90), events: ["issue.created"], url, enabled: false });
    expect(created.status, `${url}: ${JSON.stringify(created.body)}`).toBe(201);
    const hook = created.body.id as string;
    expect((await hl.api("POST", `/api/v1/projects/ssrf/webhooks/${hook}/test`)).status).toBe(202);
    const entry = await eventually(
      async () => (await hl.api("GET", `/api/v1/projects/ssrf/webhooks/${hook}/logs`)).body.data[0],
      8000,
      `a log entry for ${url}`,
    );
    return (await hl.api("GET", `/api/v1/projects/ssrf/webhooks/${hook}/logs/${entry.id}`)).body;
  }

  it.each(BLOCKED)("a host name resolving to a blocked address (%s → %j) is refused, logged and never dialled", async (name, _addresses, message) => {
    const entry = await testDelivery(strict, `https://${name}:${rx.port}/hook`);
    expect(entry).toMatchObject({ success: false, status_code: null, response: null });
    expect(entry.error).toMatch(message);
    expect(rx.connectionCount, "no connection reached the receiver").toBe(0);
  });

  it("a redirect is never followed, whatever its status and target", async () => {
    const rx2 = await startReceiver();
    const open = await startHookline({
      dialect,
      worker: true,
      ca: [rx.ca, rx2.ca],
      lookup: tableDns({ "hooks.hookline.test": ["127.0.0.1"], "internal.hookline.test": ["127.0.0.1"] }),
      env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8", HOOKLINE_RETRY_DELAYS: "" },
    });
    try {
      await open.project("ssrf");
      for (const status of [301, 302, 303, 307, 308]) {
        rx.respondWith({ status, redirectTo: `https://internal.hookline.test:${rx2.port}/latest/meta-data` });
        const entry = await testDelivery(open, `https://hooks.hookline.test:${rx.port}/r${status}`);
        expect(entry, `${status}`).toMatchObject({ success: false, status_code: status, error: null });
        expect(entry.response.headers.location).toBe(`https://internal.hookline.test:${rx2.port}/latest/meta-data`);
      }
      await sleep(200);
      expect(rx2.connectionCount, "the redirect target was never contacted").toBe(0);
    } finally {
      rx.respondWith({ status: 200 });
      await open.close();
      await rx2.close();
    }
  });

  it("HOOKLINE_ALLOW_PRIVATE_NETWORKS=<CIDRs> opens exactly those ranges, IPv4-mapped forms included", async () => {
    const before = rx.connectionCount;
    const listed = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      lookup: tableDns({
        "inside.hookline.test": ["127.0.0.1"],
        "inside-mapped.hookline.test": ["::ffff:127.0.0.1"],
        "metadata.hookline.test": ["169.254.169.254"],
        "v6loopback.hookline.test": ["::1"],
        "other-private.hookline.test": ["192.168.10.10"],
      }),
      env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8, 10.0.0.0/8", HOOKLINE_RETRY_DELAYS: "", HOOKLINE_TIMEOUT_MS: "1000" },
    });
    try {
      await listed.project("ssrf");
      rx.clear();
      for (const name of ["inside.hookline.test", "inside-mapped.hookline.test"]) {
        const entry = await testDelivery(listed, `https://${name}:${rx.port}/allowed`);
        expect(entry, name).toMatchObject({ success: true, status_code: 200, error: null });
      }
      expect(rx.requests.map((r) => r.headers.host)).toEqual([`inside.hookline.test:${rx.port}`, `inside-mapped.hookline.test:${rx.port}`]);
      for (const [name, range] of [
        ["metadata.hookline.test", "169.254.0.0/16"],
        ["v6loopback.hookline.test", "::1/128"], // 127.0.0.0/8 is IPv4 only
        ["other-private.hookline.test", "192.168.0.0/16"],
      ]) {
        const entry = await testDelivery(listed, `https://${name}:${rx.port}/refused`);
        expect(entry.error, name).toMatch(new RegExp(`^Blocked address \\S+: in ${range.replace(/[./]/g, "\\$&")} `));
      }
      expect(rx.connectionCount - before).toBe(2);
      // A literal in a listed range is accepted when saved; one outside it is not.
      const literal = (url: string) =>
        listed.api("POST", "/api/v1/projects/ssrf/webhooks", { name: "literal", events: ["issue.created"], url, enabled: false });
      expect((await literal("https://10.9.8.7/hook")).status).toBe(201);
      expect((await literal("https://172.16.0.1/hook")).status).toBe(422);
    } finally {
      await listed.close();
    }
  });
});

describe("SSRF guard in the sender: URLs saved under a laxer policy", () => {
  let rx: Receiver;
  let sender: Sender;
  beforeAll(async () => {
    rx = await startReceiver();
    sender = new Sender({ timeoutMs: 2000, urlPolicy: { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] }, ca: rx.ca });
  });
  afterAll(async () => {
    await sender?.close();
    await rx?.close();
  });

  it("refuses every spelling of a loopback address without connecting", async () => {
    const spellings = [
      "127.0.0.1",
      "127.1",
      "2130706433",
      "0x7f.1",
      "0x7f000001",
      "0177.0.0.1",
      "017700000001",
      "127.000.000.001",
      "%31%32%37.0.0.1",
      "１２７.0.0.1",
      "127.0.0.1.",
      "[::ffff:127.0.0.1]",
      "[::ffff:7f00:1]",
      "[0:0:0:0:0:ffff:7f00:1]",
      "[::127.0.0.1]",
      "[64:ff9b::7f00:1]",
      "[64:ff9b::127.0.0.1]",
      "[2002:7f00:1::]",
      "[::ffff:0:7f00:1]",
      "[::1]",
      "localhost",
    ];
    for (const host of spellings) {
      const result = await sender.send({ webhookId: "wh_1", url: `https://${host}:${rx.port}/`, headers: {}, body: "{}" });
      expect(result.success, host).toBe(false);
      expect(result.error, host).toMatch(/^Blocked address /);
    }
    expect(rx.connectionCount).toBe(0);
  });
});
