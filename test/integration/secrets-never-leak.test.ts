/**
 * Secrets never leak: a full run at log level `trace` — create webhooks with secrets, change a
 * secret, publish, deliver, fail, retry, auto-disable, notify (operator callback and a failing SMTP
 * server), Test, Redeliver, reveal, portal sessions of both roles, bad and foreign tokens — and then
 * every log line, every API error body, the delivery log, /metrics and the OpenAPI document are
 * searched for every secret: webhook secrets, the admin token, portal tokens, presented Authorization
 * values, HOOKLINE_SECRET_KEY, HOOKLINE_ENCRYPTION_KEY, the notify secret, SMTP and database
 * passwords, and the token-bearing path of a webhook URL.
 */
import crypto from "node:crypto";
import net from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSecret } from "../../src/services/secrets.js";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type ApiResponse, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

/** Sends bytes as they are and answers what the server wrote back before closing. */
function rawRequest(baseUrl: string, text: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.end(text));
    let got = "";
    socket.on("data", (d) => (got += d.toString("latin1")));
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
  });
}

const rand = (prefix: string) => `${prefix}${crypto.randomBytes(12).toString("hex")}`;

describe.each(DIALECTS)("secrets never leak (%s)", (dialect) => {
  const S = {
    webhookSecret: rand("whsec_first"),
    rotatedSecret: rand("whsec_second"),
    thirdSecret: rand("whsec_third"),
    failingSecret: rand("whsec_failing"),
    refusedSecret: rand("whsec_refused"),
    secretKey: rand("secret-key-"),
    encryptionKey: crypto.randomBytes(32).toString("base64"),
    notifySecret: rand("notify-"),
    smtpPassword: rand("smtppw"),
    dbPassword: rand("dbpw"),
    urlToken: rand("urltoken"),
    wrongToken: rand("hla_wrong"),
    basicCredentials: Buffer.from(`user:${rand("basicpw")}`).toString("base64"),
  };
  /** Filled as portal sessions are minted. */
  const portalTokens: string[] = [];
  /** The webhook's Ed25519 private key (base64 PKCS#8), read from the database once created. */
  const privateKeys: string[] = [];
  const lines: string[] = [];
  const errorBodies: string[] = [];
  let hl: TestHookline;
  let good: Receiver;
  let failing: Receiver;
  let operator: Receiver;
  let db: TestDatabase;

  const secrets = (): Array<[string, string]> => [
    ...Object.entries(S),
    ["adminToken", ADMIN_TOKEN],
    ...portalTokens.map((t, i): [string, string] => [`portalToken${i}`, t]),
    ...privateKeys.map((k, i): [string, string] => [`signingKey${i}`, k]),
  ];
  /**
   * Every secret (or the last 24 characters of a long one) that appears in `text`, also inside
   * serialized buffers (`{"type":"Buffer","data":[…]}`, how pino writes raw bytes).
   */
  const leaks = (text: string) => {
    const buffers = [...text.matchAll(/"data":\[([\d,]*)\]/g)].map((m) => Buffer.from(m[1].split(",").filter(Boolean).map(Number)).toString("latin1"));
    const all = [text, ...buffers].join("\n");
    return secrets()
      .filter(([, value]) => all.includes(value) || (value.length > 24 && all.includes(value.slice(-24))))
      .map(([name]) => name);
  };

  /** The API, recording every error body. */
  const api = async (method: string, path: string, body?: unknown, opts?: Parameters<TestHookline["api"]>[3]): Promise<ApiResponse> => {
    const res = await hl.api(method, path, body, opts);
    if (res.status >= 400) errorBodies.push(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };

  beforeAll(async () => {
    good = await startReceiver();
    failing = await startReceiver({ respond: { status: 500, body: "nope" } });
    operator = await startReceiver();
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    db = await createTestDatabase(dialect);
    // The test server trusts local connections, so any password works; it must still never be logged.
    const withPassword = dialect === "postgres" ? Object.assign(new URL(db.url), { password: S.dbPassword }).toString() : undefined;
    hl = await startHookline({
      dialect,
      database: db,
      worker: true,
      ca: [good.ca, failing.ca, operator.ca],
      logger: pino({ level: "trace" }, sink),
      env: {
        ...(withPassword ? { DATABASE_URL: withPassword } : {}),
        HOOKLINE_SECRET_KEY: S.secretKey,
        HOOKLINE_ENCRYPTION_KEY: S.encryptionKey,
        HOOKLINE_NOTIFY_URL: `${operator.url}/ops`,
        HOOKLINE_NOTIFY_SECRET: S.notifySecret,
        SMTP_URL: `smtp://mailer:${S.smtpPassword}@127.0.0.1:9`, // nothing listens: the e-mail fails and is logged
        HOOKLINE_RETRY_DELAYS: "0.05,0.05,0.05",
      },
    });
  });
  afterAll(async () => {
    await hl?.close();
    await db?.drop();
    await Promise.all([good?.close(), failing?.close(), operator?.close()]);
  });

  it("runs every flow that touches a secret", async () => {
    expect((await api("PUT", "/api/v1/projects/acme", { name: "Acme", notification_emails: ["ops@example.com"] })).status).toBe(201);
    expect((await api("PUT", "/api/v1/projects/other", { name: "Other" })).status).toBe(201);
    const hook = await api("POST", "/api/v1/projects/acme/webhooks", {
      name: "Good",
      events: ["issue.created"],
      url: `${good.url}/services/${S.urlToken}`,
      secret: S.webhookSecret,
    });
    expect(hook.status).toBe(201);
    const bad = await api("POST", "/api/v1/projects/acme/webhooks", {
      name: "Failing",
      events: ["issue.created"],
      url: `${failing.url}/x`,
      secret: S.failingSecret,
    });
    expect(bad.status).toBe(201);

    // Refused inputs that carry secrets.
    expect(
      (await api("POST", "/api/v1/projects/acme/webhooks", { name: "x", events: ["issue.created"], url: "https://169.254.169.254/", secret: S.refusedSecret }))
        .status,
    ).toBe(422);
    expect((await api("POST", "/api/v1/projects/acme/webhooks", { name: "", events: [], url: "nope", secret: S.refusedSecret.repeat(20) })).status).toBe(422);
    expect((await api("PATCH", `/api/v1/projects/acme/webhooks/${hook.body.id}`, { secret: [S.refusedSecret] })).status).toBe(422);
    expect((await api("PATCH", `/api/v1/projects/acme/webhooks/${hook.body.id}`, { secret: S.refusedSecret, url: "ftp://x" })).status).toBe(422);
    expect((await api("POST", "/api/v1/projects/acme/webhooks", undefined, { raw: `{"secret": "${S.refusedSecret}",` })).status).toBe(400);

    // Presented credentials that are wrong, malformed or of another kind.
    for (const authorization of [
      `Bearer ${S.wrongToken}`,
      `Basic ${S.basicCredentials}`,
      `Bearer ${S.wrongToken} extra`,
      S.wrongToken,
      `Bearer ${ADMIN_TOKEN}x`,
    ]) {
      expect((await api("GET", "/api/v1/projects", undefined, { token: null, headers: { authorization } })).status).toBe(401);
    }

    // A malformed request carrying a valid token: the HTTP parser's error holds the raw bytes.
    const raw = await rawRequest(hl.baseUrl, `GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nThis is no header\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    errorBodies.push(raw);

    // Portal sessions of both roles, used inside and outside their scope.
    for (const role of ["admin", "viewer"]) {
      const session = await api("POST", "/api/v1/projects/acme/portal-sessions", { role });
      expect(session.status).toBe(200);
      portalTokens.push(session.body.token);
    }
    const [portalAdmin, viewer] = portalTokens;
    expect((await api("GET", "/api/v1/projects/acme/webhooks", undefined, { token: viewer })).status).toBe(200);
    expect((await api("GET", "/api/v1/projects/other/webhooks", undefined, { token: viewer })).status).toBe(404);
    expect((await api("GET", `/api/v1/projects/acme/webhooks/${hook.body.id}/secret`, undefined, { token: viewer })).status).toBe(403);
    expect((await api("GET", "/api/v1/projects", undefined, { token: portalAdmin })).status).toBe(403);
    expect((await api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: {} }, { token: portalAdmin })).status).toBe(403);
    expect((await api("GET", "/api/v1/projects/acme/webhooks", undefined, { token: `${viewer}.x` })).status).toBe(401);
    const revealed = await hl.api("GET", `/api/v1/projects/acme/webhooks/${hook.body.id}/secret`, undefined, { token: portalAdmin });
    expect(revealed.body).toEqual({ secret: S.webhookSecret });

    // Deliveries: signed successes, failures with retries ending in auto-disable and notifications.
    for (let i = 0; i < 3; i++) expect((await api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { i } })).status).toBe(202);
    await good.waitFor(3);
    expect((await api("PATCH", `/api/v1/projects/acme/webhooks/${hook.body.id}`, { secret: S.rotatedSecret })).status).toBe(200);
    // Rotation with an overlap and a signing key: the old secret and the private key sign too.
    expect((await api("POST", `/api/v1/projects/acme/webhooks/${hook.body.id}/secret/rotate`, { secret: S.thirdSecret })).status).toBe(200);
    expect((await api("POST", `/api/v1/projects/acme/webhooks/${hook.body.id}/secret/rotate`, { previous_valid_seconds: S.refusedSecret })).status).toBe(422);
    expect((await api("POST", `/api/v1/projects/acme/webhooks/${hook.body.id}/signing-key`)).status).toBe(200);
    const sealed = await hl.runtime.ctx.store.db.selectFrom("webhooks").select("signing_key").where("id", "=", hook.body.id).executeTakeFirstOrThrow();
    privateKeys.push(openSecret(hl.runtime.ctx, sealed.signing_key!));
    expect((await api("POST", `/api/v1/projects/acme/webhooks/${hook.body.id}/test`)).status).toBe(202);
    await good.waitFor(4);
    expect(
      String(good.requests[3].headers["webhook-signature"])
        .split(" ")
        .map((v) => v.split(",")[0]),
    ).toEqual(["v1", "v1", "v1a"]);
    await eventually(
      async () => (await api("GET", `/api/v1/projects/acme/webhooks/${bad.body.id}`)).body.disabled_reason === "failures",
      10_000,
      "auto-disable",
    );
    await operator.waitFor(1, 10_000);
    await eventually(() => lines.some((l) => l.includes("notification e-mail failed")), 10_000, "the failed e-mail to be logged");
    const logs = (await api("GET", `/api/v1/projects/acme/webhooks/${hook.body.id}/logs`)).body.data;
    expect((await api("POST", `/api/v1/projects/acme/webhooks/${hook.body.id}/logs/${logs[0].id}/redeliver`)).status).toBe(202);
    await good.waitFor(5);
    // The receivers did get signed requests: the secrets were in use, not just stored.
    expect(good.requests.every((r) => typeof r.headers["webhook-signature"] === "string")).toBe(true);
  });

  it("no secret in any log line, at trace level", () => {
    expect(lines.length, "log lines captured").toBeGreaterThan(50);
    expect(
      lines.some((l) => /incoming request/.test(l)),
      "request logs captured",
    ).toBe(true);
    expect(lines.some((l) => /webhook disabled after repeated failures/.test(l))).toBe(true);
    const found = lines.map((l) => ({ line: l, leaks: leaks(l) })).filter((x) => x.leaks.length > 0);
    expect(found.map((x) => `${x.leaks.join(",")}: ${x.line.slice(0, 300)}`)).toEqual([]);
  });

  it("no secret in any API error body", () => {
    expect(errorBodies.length).toBeGreaterThanOrEqual(15);
    expect(errorBodies.filter((b) => leaks(b).length > 0)).toEqual([]);
  });

  it("no secret in the delivery log, the webhook objects, /metrics or the OpenAPI document", async () => {
    const texts: string[] = [];
    for (const project of ["acme"]) {
      const hooks = (await hl.api("GET", `/api/v1/projects/${project}/webhooks`)).body.data;
      texts.push(JSON.stringify(hooks));
      for (const h of hooks) {
        const entries = (await hl.api("GET", `/api/v1/projects/${project}/webhooks/${h.id}/logs?limit=100`)).body.data;
        expect(entries.length).toBeGreaterThan(0);
        for (const e of entries) texts.push(JSON.stringify((await hl.api("GET", `/api/v1/projects/${project}/webhooks/${h.id}/logs/${e.id}`)).body));
        texts.push((await hl.api("GET", `/api/v1/projects/${project}/webhooks/${h.id}/logs/export`)).body as string);
      }
    }
    texts.push(JSON.stringify((await hl.api("GET", "/api/v1/projects/acme/notifications")).body));
    texts.push(await (await fetch(`${hl.baseUrl}/metrics`)).text());
    texts.push(await (await fetch(`${hl.baseUrl}/api/openapi.json`)).text());
    // The webhook URL is the project's own data: it may appear in its API objects, nothing else may.
    const notUrl = (names: string[]) => names.filter((n) => n !== "urlToken");
    expect(texts.map((t) => notUrl(leaks(t))).flat()).toEqual([]);
    expect(leaks(texts.at(-2)!)).toEqual([]); // /metrics: not even the URL
  });
});
