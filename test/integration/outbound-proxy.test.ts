/**
 * HOOKLINE_PROXY_URL with a real CONNECT proxy: attempts and OAuth2 token requests go through it
 * with its credentials; Hookline resolves and checks the target itself and asks the proxy for the
 * checked address (never the name); TLS through the tunnel still verifies the target's name; a
 * target resolving to a blocked address is refused before any CONNECT.
 */
import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConnectProxy, type ConnectProxy } from "../helpers/connect-proxy.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startTokenServer, type TokenServer } from "../helpers/oauth2-server.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const TABLE: Record<string, string> = {
  "hooks.hookline.test": "127.0.0.1",
  "tokens.hookline.test": "127.0.0.1",
  "internal.hookline.test": "10.1.2.3",
  "wrong-name.example": "127.0.0.1",
};
const tableDns: LookupFunction = (hostname, options, callback) => {
  const address = TABLE[hostname.toLowerCase()];
  if (!address) return process.nextTick(() => callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: "ENOTFOUND", syscall: "getaddrinfo" }), ""));
  const all: LookupAddress[] = [{ address, family: 4 }];
  process.nextTick(() => (options.all ? callback(null, all) : callback(null, address, 4)));
};

describe.each(DIALECTS)("outbound proxy (%s)", (dialect) => {
  let rx: Receiver;
  let proxy: ConnectProxy;
  let tokens: TokenServer;
  let hl: TestHookline;

  beforeAll(async () => {
    rx = await startReceiver();
    proxy = await startConnectProxy({ user: "egress", password: "pr0xy:pass" });
    tokens = await startTokenServer({ id: "c1", secret: "s1" });
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, lookup: tableDns, env: { HOOKLINE_PROXY_URL: proxy.url, HOOKLINE_RETRY_DELAYS: "" } });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
    await Promise.all([rx?.close(), proxy?.close(), tokens?.close()]);
  });

  async function testAttempt(url: string, extra: Record<string, unknown> = {}) {
    const created = await hl.api("POST", "/api/v1/projects/acme/webhooks", {
      name: url.slice(0, 90),
      events: ["issue.created"],
      url,
      enabled: false,
      ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await hl.api("POST", `/api/v1/projects/acme/webhooks/${created.body.id}/test`);
    return eventually(async () => {
      const [entry] = (await hl.api("GET", `/api/v1/projects/acme/webhooks/${created.body.id}/logs`)).body.data;
      expect(entry).toBeDefined();
      return entry;
    });
  }

  it("tunnels attempts and token requests to the checked address, with the proxy's credentials", async () => {
    proxy.connects.length = 0;
    const tokenUrl = tokens.url.replace("127.0.0.1", "tokens.hookline.test");
    const entry = await testAttempt(`https://hooks.hookline.test:${rx.port}/through`, {
      auth: { type: "oauth2_client_credentials", token_url: tokenUrl, client_id: "c1", client_secret: "s1" },
    });
    expect(entry).toMatchObject({ success: true, status_code: 200 });
    expect(rx.requests.at(-1)!.path).toBe("/through");
    const tokenPort = new URL(tokens.url).port;
    // The names were resolved here: the proxy is asked for addresses only.
    expect(proxy.connects.map((c) => c.target)).toEqual([`127.0.0.1:${tokenPort}`, `127.0.0.1:${rx.port}`]);
    const basic = `Basic ${Buffer.from("egress:pr0xy:pass").toString("base64")}`;
    expect(proxy.connects.every((c) => c.authorization === basic)).toBe(true);
    expect(tokens.calls).toHaveLength(1);
  });

  it("still verifies the target's certificate name through the tunnel", async () => {
    const entry = await testAttempt(`https://wrong-name.example:${rx.port}/x`);
    expect(entry.success).toBe(false);
    expect(entry.error).toMatch(/^TLS error: .*wrong-name\.example.*ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it("refuses a target resolving to a blocked address before any CONNECT", async () => {
    proxy.connects.length = 0;
    const entry = await testAttempt(`https://internal.hookline.test:${rx.port}/meta`);
    expect(entry).toMatchObject({ success: false, status_code: null });
    expect(entry.error).toMatch(/^Blocked address 10\.1\.2\.3: in 10\.0\.0\.0\/8 \(private network\)$/);
    expect(proxy.connects).toEqual([]);
  });
});
