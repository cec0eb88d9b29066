/**
 * Fuzzing the whole API surface (SPEC §4 "Never a 500 for bad input"), on both stores. Where
 * api-errors.test.ts throws generated JSON bodies at the write routes, this throws everything else:
 * every route of the OpenAPI document (so a new route is fuzzed without a change here), with
 * generated path parameters, query strings, headers, tokens, methods and bodies; then raw bytes that
 * are barely HTTP; then blocked addresses in generated spellings as webhook URLs. Every answer is a
 * 2xx or a 4xx in the spec's error shape, the server stays up, and no blocked URL is ever stored.
 */
import net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";
import { expectErrorShape } from "./support/api.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** A header value fetch can send: no CR, LF or NUL, nothing above U+00FF. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.constantFrom(
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "null",
    "undefined",
    "{}",
    "[]",
    "application/json",
    "text/plain; charset=utf-16",
    "Bearer",
    "Bearer ",
    "x".repeat(4000),
  ),
);
/** Anything in a path segment, percent-encoded or spelled as given when it is safe to send. */
const segment = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: "binary", maxLength: 20 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "\ufffd"))),
  fc.uint8Array({ maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")),
  fc.constantFrom(
    "",
    ".",
    "..",
    "%2e%2e",
    "%2F",
    "%00",
    "%",
    "%zz",
    "__proto__",
    "constructor",
    "wh_",
    "dlv_",
    "log_",
    "ntf_",
    "x".repeat(3000),
    "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV",
  ),
);
const json = fc.jsonValue({ maxDepth: 3 });

describe.each(WITH_POOLER)("API fuzzing (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let operations: Array<{ method: string; path: string }>;
  const real: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  /** The project, webhook, log entry and portal tokens the real ids point at; made again after a generated DELETE. */
  async function fixtures(): Promise<void> {
    await hl.api("PUT", "/api/v1/projects/acme", { name: "Acme" });
    await hl.api("PUT", "/api/v1/projects/other", { name: "Other" });
    const list = (await hl.api("GET", "/api/v1/projects/acme/webhooks")).body.data as Array<{ id: string }>;
    for (const h of list.slice(1)) await hl.api("DELETE", `/api/v1/projects/acme/webhooks/${h.id}`); // keep the active limit free
    real.id =
      list[0]?.id ??
      (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "fuzz", events: ["issue.created"], url: `${rx.url}/in`, secret: "s" })).body.id;
    if (!(await hl.api("GET", `/api/v1/projects/acme/webhooks/${real.id}/logs`)).body.data.length) {
      await hl.api("POST", `/api/v1/projects/acme/webhooks/${real.id}/test`);
      await eventually(async () => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${real.id}/logs`)).body.data.length > 0, 5000, "a log entry");
    }
    real.log_id = (await hl.api("GET", `/api/v1/projects/acme/webhooks/${real.id}/logs`)).body.data[0].id;
    real.project_id = "acme";
    real.name = "issue.created";
    for (const [name, project, role] of [
      ["portalAdmin", "acme", "admin"],
      ["viewer", "acme", "viewer"],
      ["otherProject", "other", "admin"],
    ] as const) {
      tokens[name] = (await hl.api("POST", `/api/v1/projects/${project}/portal-sessions`, { role })).body.token;
    }
  }

  beforeAll(async () => {
    rx = await startReceiver();
    // Rate limiting off: every generated request should reach the route, not the limiter.
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RATE_LIMIT: "0", HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8" } });
    const doc = (await hl.api("GET", "/api/openapi.json", undefined, { token: null })).body;
    operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m.toUpperCase()))
        .map((m) => ({ method: m.toUpperCase(), path })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(19);
    await fixtures();
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("every route, with generated path parameters, query, headers, token, method and body: a 2xx or a 4xx in the spec's shape", async () => {
    const seen = new Map<number, number>();
    const request = fc.record({
      op: fc.integer({ min: 0, max: operations.length - 1 }),
      params: fc.dictionary(fc.constantFrom("project_id", "id", "log_id", "name"), fc.oneof(segment, fc.constant("REAL")), { maxKeys: 4 }),
      method: fc.oneof(fc.constant(null), fc.constantFrom(...METHODS, "HEAD", "OPTIONS")),
      query: fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom("limit", "cursor", "success", "event", "limit[]", "__proto__"), fc.string({ maxLength: 8 })),
          fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("0", "-1", "101", "1.5", "true", "false", "TRUE", "", "9".repeat(30))),
        ),
        { maxLength: 4 },
      ),
      headers: fc.dictionary(
        fc.oneof(
          fc.constantFrom("content-type", "idempotency-key", "accept", "accept-encoding", "x-forwarded-for", "if-none-match", "range", "origin"),
          fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
        ),
        headerValue,
        { maxKeys: 5 },
      ),
      token: fc.oneof(
        { arbitrary: fc.constantFrom("admin", "portalAdmin", "viewer", "otherProject", "none"), weight: 6 },
        headerValue.map((v) => `raw:${v}`),
        fc.constantFrom("hlp_", "hlp_a.b", "hlp_a.b.c", `${ADMIN_TOKEN}x`).map((v) => `raw:${v}`),
      ),
      body: fc.oneof(
        fc.constant(undefined),
        json.map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 200 }),
        fc.constantFrom("{", "[", '{"a":', "\u0000", "\ufeff{}", "null"),
      ),
    });

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const op = operations[r.op];
        const method = r.method ?? op.method;
        const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
          const given = r.params[name];
          return given === undefined || given === "REAL" ? encodeURIComponent(real[name] ?? "x") : given;
        });
        const query = r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
        const token = r.token === "none" ? null : r.token.startsWith("raw:") ? r.token.slice(4) : (tokens[r.token] ?? ADMIN_TOKEN);
        const headers = { ...r.headers } as Record<string, string>;
        if (token !== null) headers.authorization = r.token.startsWith("raw:") ? token : `Bearer ${token}`;
        const sendsBody = !["GET", "HEAD"].includes(method) && r.body !== undefined;
        const res = await fetch(`${hl.baseUrl}${path}${query ? `?${query}` : ""}`, { method, headers, body: sendsBody ? r.body : undefined });
        const text = await res.text();
        const what = `${method} ${path.slice(0, 150)}?${query.slice(0, 80)} [${r.token.slice(0, 30)}] ${JSON.stringify(headers).slice(0, 200)} → ${res.status} ${text.slice(0, 200)}`;
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400 && method !== "HEAD") {
          expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
          expectErrorShape(JSON.parse(text));
        }
        // A generated DELETE (or PATCH) may have removed or changed what the real ids point at.
        if (res.status < 300 && ["DELETE", "PATCH", "PUT", "POST"].includes(method)) await fixtures();
      }),
      { numRuns: RUNS },
    );
    console.info(`[${dialect}] statuses: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
    // The runs reached the routes, not only the auth layer.
    expect([...seen.keys()].filter((s) => s < 300).length, `statuses seen: ${JSON.stringify(Object.fromEntries(seen))}`).toBeGreaterThan(0);
    expect([...seen.keys()].filter((s) => [404, 422].includes(s)).length).toBeGreaterThan(0);
  });

  it("raw bytes that are barely HTTP: answered 4xx in the spec's shape (or dropped), and the server stays up", async () => {
    const { port } = new URL(hl.baseUrl);
    const line = fc.oneof(
      fc.constantFrom(
        "GET /api/v1/projects HTTP/1.1",
        "POST /api/v1/projects/acme/events HTTP/1.1",
        "GET /api/v1/projects HTTP/1.0",
        "GET /api/v1/projects HTTP/2.0",
        "GET  /api/v1/projects HTTP/1.1",
        "G\u0000T /api/v1/projects HTTP/1.1",
        "GET /api/v1/pro jects HTTP/1.1",
        "GET http://evil.example/api/v1/projects HTTP/1.1",
        "GET * HTTP/1.1",
        "PRI * HTTP/2.0",
        "CONNECT 127.0.0.1:22 HTTP/1.1",
        "GET /api/v1/projects\tHTTP/1.1",
      ),
      fc.string({ unit: "binary-ascii", maxLength: 60 }),
    );
    const header = fc.oneof(
      fc.constantFrom(
        "Host: x",
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        "Content-Length: 5",
        "Content-Length: -1",
        "Content-Length: 1, 2",
        "Content-Length: 99999999999999999999",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        " folded: continuation",
        "No-Colon-Here",
        "Bad Name: x",
        "X-Nul: a\u0000b",
        "X-Cr: a\rb",
        `X-Long: ${"a".repeat(20_000)}`,
        "Expect: 100-continue",
        "Connection: upgrade\r\nUpgrade: websocket",
      ),
      fc.string({ unit: "binary-ascii", maxLength: 40 }),
    );
    const rawRequest = fc.tuple(
      line,
      fc.array(header, { maxLength: 5 }),
      fc.oneof(fc.constant(""), fc.string({ unit: "binary-ascii", maxLength: 40 }), fc.constantFrom("5\r\nhello\r\n0\r\n\r\n", "zz\r\n", "{}")),
    );

    const send = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port: Number(port) }, () => socket.end(text));
        let got = "";
        socket.setTimeout(3000, () => socket.destroy());
        socket.on("data", (d) => (got += d.toString("latin1")));
        socket.on("error", () => {});
        socket.on("close", () => resolve(got));
      });

    await fc.assert(
      fc.asyncProperty(rawRequest, async ([first, headers, body]) => {
        const got = await send(`${first}\r\n${headers.join("\r\n")}${headers.length ? "\r\n" : ""}\r\n${body}`);
        // Several answers may come back on one connection (pipelining); check each status line.
        for (const m of got.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n/g)) {
          const status = Number(m[1]);
          expect(status, `${JSON.stringify(first)} → ${got.slice(0, 300)}`).toBeLessThan(500);
          if (status >= 400 && /content-type: application\/json/i.test(m[2])) {
            const length = Number(/content-length: (\d+)/i.exec(m[2])?.[1] ?? -1);
            const start = (m.index ?? 0) + m[0].length;
            if (length > 0) expectErrorShape(JSON.parse(got.slice(start, start + length)));
          }
        }
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${hl.baseUrl}/healthz`)).status).toBe(200);
    expect((await hl.api("GET", "/api/v1/projects")).status).toBe(200);
  });

  it("a malformed request is answered in the spec's shape", async () => {
    const { port } = new URL(hl.baseUrl);
    for (const [text, status, code] of [
      ["GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nThis is no header\r\n\r\n", 400, "bad_request"],
      ["NOT-HTTP\r\n\r\n", 400, "bad_request"],
      [`GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nX-Long: ${"a".repeat(40_000)}\r\n\r\n`, 431, "headers_too_large"],
    ] as const) {
      const got = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port: Number(port) }, () => socket.end(text));
        let out = "";
        socket.on("data", (d) => (out += d.toString("latin1")));
        socket.on("error", () => {});
        socket.on("close", () => resolve(out));
      });
      const [head, body] = got.split("\r\n\r\n");
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(head).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it("no spelling of a blocked address is ever stored as a webhook URL", async () => {
    const blockedV4 = fc.oneof(
      fc.integer({ min: 0x7f000000, max: 0x7fffffff }), // 127/8
      fc.integer({ min: 0x0a000000, max: 0x0affffff }), // 10/8
      fc.integer({ min: 0xa9fe0000, max: 0xa9feffff }), // 169.254/16
      fc.integer({ min: 0xc0a80000, max: 0xc0a8ffff }), // 192.168/16
      fc.integer({ min: 0xac100000, max: 0xac1fffff }), // 172.16/12
      fc.integer({ min: 0x64400000, max: 0x647fffff }), // 100.64/10
      fc.integer({ min: 0x00000000, max: 0x00ffffff }), // 0/8
    );
    const hex16 = (n: number) => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
    const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    const spell = fc.constantFrom(
      (n: number) => dotted(n),
      (n: number) => String(n),
      (n: number) => `0x${n.toString(16)}`,
      (n: number) => `0${n.toString(8)}`,
      (n: number) => `${n >>> 24}.${n & 0xffffff}`,
      (n: number) => `${dotted(n)}.`,
      (n: number) => `[::ffff:${dotted(n)}]`,
      (n: number) => `[::ffff:${hex16(n)}]`,
      (n: number) => `[64:ff9b::${hex16(n)}]`,
      (n: number) => `[2002:${hex16(n)}::1]`,
      (n: number) => dotted(n).replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))), // fullwidth digits
      (n: number) => encodeURIComponent(dotted(n)).replace(/\./g, "%2E"),
    );
    const tail = fc.constantFrom("", "/", ":8443/hook", "/a?b=1");
    await hl.api("PUT", "/api/v1/projects/urls", { name: "urls" });
    // The helper's instance allows 127.0.0.0/8; this one refuses every private range.
    const strict = await startHookline({ dialect, env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "", HOOKLINE_RATE_LIMIT: "0" } });
    try {
      await strict.project("urls");
      await fc.assert(
        fc.asyncProperty(blockedV4, spell, tail, fc.boolean(), async (n, how, rest, upper) => {
          const host = upper ? how(n).toUpperCase() : how(n);
          const url = `https://${host}${rest}`;
          const res = await strict.api("POST", "/api/v1/projects/urls/webhooks", { name: "u", events: ["issue.created"], url, enabled: false });
          expect(res.status, `${url} → ${JSON.stringify(res.body)}`).toBe(422);
          expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(["url"]);
        }),
        { numRuns: RUNS },
      );
      expect((await strict.api("GET", "/api/v1/projects/urls/webhooks")).body.data).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
