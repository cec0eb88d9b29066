/**
 * Receiver authentication end to end, on both stores, with HOOKLINE_ENCRYPTION_KEY set: each `auth`
 * type reaches a real receiver that checks the credential, custom headers arrive as given, the log
 * shows `[redacted]` instead of the credential, GET shows no secret, and neither the database nor a
 * trace-level log line holds a credential in plaintext. OAuth2 against a real token endpoint: one
 * token per lifetime under 1,000 deliveries, one more after the receiver starts answering 401, and
 * a broken endpoint fails the attempt with its cause.
 */
import crypto from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { open, parseKeyRing, sealedWith } from "../../src/domain/secret-box.js";
import { rotateSecrets } from "../../src/services/secrets.js";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startTokenServer, type TokenServer } from "../helpers/oauth2-server.js";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const rand = (prefix: string) => `${prefix}${crypto.randomBytes(12).toString("hex")}`;

describe.each(DIALECTS)("receiver auth (%s)", (dialect) => {
  const S = {
    bearer: rand("bearer-"),
    password: rand("pw-"),
    apiKey: rand("key-"),
    clientSecret: rand("cs-"),
  };
  const CLIENT_ID = "hookline-client";
  let rx: Receiver;
  let tokens: TokenServer;
  let hl: TestHookline;
  let db: TestDatabase;
  const lines: string[] = [];
  const KEY = crypto.randomBytes(32).toString("base64");

  /** What the receiver's gateway checks, by path. */
  const authorized = (req: ReceivedRequest): boolean => {
    switch (req.path) {
      case "/bearer":
        return req.headers.authorization === `Bearer ${S.bearer}`;
      case "/basic":
        return req.headers.authorization === `Basic ${Buffer.from(`ops:${S.password}`).toString("base64")}`;
      case "/header":
        return req.headers["x-api-key"] === S.apiKey && req.headers.authorization === undefined;
      default:
        return tokens.isValid(/^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1]);
    }
  };

  beforeAll(async () => {
    rx = await startReceiver({ respond: (req) => (authorized(req) ? { status: 200 } : { status: 401, body: "who are you?" }) });
    tokens = await startTokenServer({ id: CLIENT_ID, secret: S.clientSecret });
    db = await createTestDatabase(dialect, { migrated: true });
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    hl = await startHookline({
      dialect,
      database: db,
      worker: true,
      ca: rx.ca,
      logger: pino({ level: "trace" }, sink),
      // Three sender threads: a webhook's attempts all go to its one thread, so its token is fetched once per process.
      env: { HOOKLINE_ENCRYPTION_KEY: `one:${KEY}`, HOOKLINE_SENDER_THREADS: "3", HOOKLINE_RETRY_DELAYS: "" },
    });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
    await db?.drop();
    await Promise.all([rx?.close(), tokens?.close()]);
  });

  const create = async (name: string, path: string, extra: Record<string, unknown>) => {
    const res = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name, events: ["issue.created"], url: `${rx.url}${path}`, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string } & Record<string, unknown>;
  };
  const logsOf = async (id: string) => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${id}/logs?limit=100`)).body.data as any[];
  const detail = async (id: string, logId: string) => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${id}/logs/${logId}`)).body;

  it("delivers with every auth type, redacts the log, shows no secret and stores none in plaintext", async () => {
    const oauth = { type: "oauth2_client_credentials", token_url: tokens.url, client_id: CLIENT_ID, client_secret: S.clientSecret, scope: "hooks:write" };
    const hooks = [
      await create("bearer", "/bearer", { auth: { type: "bearer", token: S.bearer }, headers: { "X-Tenant": "acme", "X-Trace-Me": "yes" } }),
      await create("basic", "/basic", { auth: { type: "basic", username: "ops", password: S.password } }),
      await create("header", "/header", { auth: { type: "header", name: "X-Api-Key", value: S.apiKey } }),
      await create("oauth", "/oauth", { auth: oauth }),
    ];
    expect(hooks[0].headers).toEqual({ "X-Tenant": "acme", "X-Trace-Me": "yes" });
    expect(hooks[1].auth).toEqual({ type: "basic", username: "ops" });
    expect(hooks[2].auth).toEqual({ type: "header", name: "X-Api-Key" });
    expect(hooks[3].auth).toEqual({ type: "oauth2_client_credentials", token_url: tokens.url, client_id: CLIENT_ID, scope: "hooks:write" });

    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: 1 } });
    const got = await rx.waitFor(4, 10_000);
    expect(got.map((r) => r.path).sort()).toEqual(["/basic", "/bearer", "/header", "/oauth"]);
    for (const req of got) expect(authorized(req), req.path).toBe(true);
    const bearer = got.find((r) => r.path === "/bearer")!;
    expect(bearer.headers["x-tenant"]).toBe("acme");
    expect(bearer.headers["x-trace-me"]).toBe("yes");
    expect(tokens.calls).toHaveLength(1);
    expect(tokens.calls[0].form.get("scope")).toBe("hooks:write");

    const redactedName = ["Authorization", "Authorization", "X-Api-Key", "Authorization"];
    for (const [i, hook] of hooks.entries()) {
      const [entry] = await eventually(async () => {
        const l = await logsOf(hook.id);
        expect(l).toHaveLength(1);
        return l;
      });
      expect(entry.success, `${hook.id}: ${entry.error}`).toBe(true);
      const { request } = await detail(hook.id, entry.id);
      expect(request.headers[redactedName[i]]).toBe("[redacted]");
      if (i === 0) expect(request.headers["X-Tenant"]).toBe("acme");
    }

    const everything = JSON.stringify([
      (await hl.api("GET", "/api/v1/projects/acme/webhooks")).body,
      ...(await Promise.all(hooks.map(async (h) => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${h.id}`)).body))),
    ]);
    const database = JSON.stringify([
      await hl.runtime.ctx.store.db.selectFrom("webhooks").selectAll().execute(),
      await hl.runtime.ctx.store.db.selectFrom("log_entries").selectAll().execute(),
    ]);
    const issuedToken = /^Bearer (.+)$/.exec(got.find((r) => r.path === "/oauth")!.headers.authorization!)![1];
    const basic = Buffer.from(`ops:${S.password}`).toString("base64");
    for (const secret of [...Object.values(S), basic, issuedToken]) {
      expect(everything, "API").not.toContain(secret);
      expect(database, "database").not.toContain(secret);
      expect(lines.join(""), "log lines").not.toContain(secret);
    }
    const row = await hl.runtime.ctx.store.db.selectFrom("webhooks").select(["auth_secret"]).where("id", "=", hooks[0].id).executeTakeFirstOrThrow();
    expect(row.auth_secret).toMatch(/^enc:v1:/);

    // `hookline rotate-key` re-seals the auth secrets with the new key.
    const ring = parseKeyRing(`two:${crypto.randomBytes(32).toString("base64")},one:${KEY}`);
    await rotateSecrets({ ...hl.runtime.ctx, config: { ...hl.runtime.ctx.config, encryptionKey: ring } });
    const resealed = await hl.runtime.ctx.store.db.selectFrom("webhooks").select(["id", "auth_secret"]).execute();
    for (const r of resealed) expect(sealedWith(r.auth_secret!), r.id).toBe("two");
    expect(resealed.map((r) => open(ring, r.auth_secret!)).sort()).toEqual([S.apiKey, S.bearer, S.clientSecret, S.password].sort());

    // A PATCH with null removes an option; GET shows it gone, and the next attempt goes without it.
    const patched = await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hooks[0].id}`, { headers: null, auth: null });
    expect(patched.body).toMatchObject({ headers: null, auth: null });
    for (const h of hooks) await hl.api("DELETE", `/api/v1/projects/acme/webhooks/${h.id}`);
  });

  it("fetches one OAuth2 token per lifetime under 1,000 deliveries, and one more after the receiver answers 401", async () => {
    rx.clear();
    tokens.calls.length = 0;
    const hook = await create("oauth-load", "/oauth", {
      auth: { type: "oauth2_client_credentials", token_url: tokens.url, client_id: CLIENT_ID, client_secret: S.clientSecret },
    });
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: i + j } })),
      );
    }
    await rx.waitFor(1000, 60_000);
    expect(rx.requests.every((r) => authorized(r))).toBe(true);
    expect(tokens.calls).toHaveLength(1);

    // The receiver stops taking that token: the next attempt gets a 401, fetches a fresh token once and succeeds in the same attempt.
    tokens.revokeAll();
    rx.clear();
    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: "after revoke" } });
    await rx.waitFor(2, 10_000);
    expect(rx.requests.map((r) => authorized(r))).toEqual([false, true]);
    expect(tokens.calls).toHaveLength(2);
    const newest = await eventually(async () => {
      const [entry] = await logsOf(hook.id);
      expect(entry.success).toBe(true);
      return entry;
    });
    expect(newest.attempt).toBe(1);
    await hl.api("DELETE", `/api/v1/projects/acme/webhooks/${hook.id}`);
  }, 120_000);

  it("counts a hanging token endpoint within the attempt's timeout, without holding up other webhooks", async () => {
    rx.clear();
    const hanging = await startReceiver({ respond: { hang: true } });
    try {
      const stuck = await create("oauth-hanging", "/oauth", {
        auth: { type: "oauth2_client_credentials", token_url: `${hanging.url}/token`, client_id: CLIENT_ID, client_secret: S.clientSecret },
      });
      const plain = await create("plain", "/bearer", { auth: { type: "bearer", token: S.bearer } });
      const published = Date.now();
      await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: "hang" } });
      const [req] = await rx.waitFor(1, 5_000);
      expect(req.path).toBe("/bearer");
      expect(req.receivedAt.getTime() - published).toBeLessThan(1_500); // not behind the 2 s token wait
      const entry = await eventually(async () => {
        const [e] = await logsOf(stuck.id);
        expect(e).toBeDefined();
        return e;
      }, 10_000);
      expect(entry.error).toBe("oauth2 token: Timed out after 2000 ms");
      expect(entry.duration_ms).toBeGreaterThanOrEqual(1_900);
      expect(entry.duration_ms).toBeLessThan(3_000);
      for (const h of [stuck, plain]) await hl.api("DELETE", `/api/v1/projects/acme/webhooks/${h.id}`);
    } finally {
      await hanging.close();
    }
  }, 30_000);

  it("refetches a token that expired (expires_in − 30 s), and fails the attempt with the token endpoint's cause", async () => {
    rx.clear();
    tokens.calls.length = 0;
    tokens.expiresIn = 31; // cached for 1 s, valid at the receiver for 31 s
    const hook = await create("oauth-short", "/oauth", {
      auth: { type: "oauth2_client_credentials", token_url: tokens.url, client_id: CLIENT_ID, client_secret: S.clientSecret },
    });
    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: 1 } });
    await rx.waitFor(1);
    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: 2 } });
    await rx.waitFor(2);
    expect(tokens.calls).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: 3 } });
    await rx.waitFor(3);
    expect(tokens.calls).toHaveLength(2);
    tokens.expiresIn = 3600;

    const wrong = await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hook.id}`, {
      auth: { type: "oauth2_client_credentials", token_url: tokens.url, client_id: CLIENT_ID, client_secret: "not-the-secret" },
    });
    expect(wrong.status).toBe(200);
    await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { n: 4 } });
    const failed = await eventually(async () => {
      const [entry] = await logsOf(hook.id);
      expect(entry.success).toBe(false);
      return entry;
    });
    expect(failed.error).toBe("oauth2 token: 401 invalid_client");
    expect(failed.status_code).toBeNull();
    expect(rx.requests).toHaveLength(3); // nothing reached the receiver without a token
  }, 30_000);
});
