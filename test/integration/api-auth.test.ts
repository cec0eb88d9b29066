/** SPEC §4 tokens: admin token, portal sessions (project scope, viewer/admin roles, expiry), public routes. */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER, createTestDatabase } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";
import { ISO, expectError } from "./support/api.js";

const PUBLIC_URL = "https://hooks.example.com/hookline";
const URL_OK = "https://hooks.example.com/in";

/** Every management route, with a body that would be valid, for "who may call it" checks. */
function routes(project: string, webhookId: string) {
  const p = `/api/v1/projects/${project}`;
  const w = `${p}/webhooks/${webhookId}`;
  const log = "log_01aaaaaaaaaaaaaaaaaaaaaaaa";
  return {
    adminOnly: [
      ["GET", "/api/v1/projects", undefined],
      ["PUT", p, { name: "renamed" }],
      ["DELETE", p, undefined],
      ["POST", `${p}/events`, { event: "issue.created", subject: { id: 1 } }],
      ["PUT", "/api/v1/event-types/custom.thing", { description: "A custom thing." }],
      ["POST", `${p}/portal-sessions`, { role: "admin" }],
    ],
    projectRead: [
      ["GET", p, undefined],
      ["GET", `${p}/webhooks`, undefined],
      ["GET", w, undefined],
      ["GET", `${w}/logs`, undefined],
      ["GET", `${w}/logs/${log}`, undefined],
      ["GET", `${p}/notifications`, undefined],
    ],
    projectWrite: [
      ["POST", `${p}/webhooks`, { name: "n", events: ["issue.created"], url: URL_OK, enabled: false }],
      ["PATCH", w, { name: "changed" }],
      ["GET", `${w}/secret`, undefined],
      ["POST", `${w}/test`, undefined],
      ["POST", `${w}/logs/${log}/redeliver`, undefined],
      ["DELETE", w, undefined],
    ],
    anyone: [
      ["GET", "/api/v1/event-types", undefined],
      ["GET", "/api/v1/me", undefined],
    ],
  } as const;
}

describe.each(WITH_POOLER)("auth (%s)", (dialect) => {
  let hl: TestHookline;
  let clock = Date.now();
  let hookA: string;
  let hookB: string;

  const session = async (project: string, body?: Record<string, unknown>) => {
    const res = await hl.api("POST", `/api/v1/projects/${project}/portal-sessions`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { token: string; url: string; expires_at: string };
  };

  beforeAll(async () => {
    hl = await startHookline({ dialect, now: () => clock, env: { HOOKLINE_PUBLIC_URL: `${PUBLIC_URL}/` } });
    await hl.project("alpha");
    await hl.project("beta");
    hookA = (await hl.api("POST", "/api/v1/projects/alpha/webhooks", { name: "a", events: ["issue.created"], url: URL_OK, secret: "s-alpha" })).body.id;
    hookB = (await hl.api("POST", "/api/v1/projects/beta/webhooks", { name: "b", events: ["issue.created"], url: URL_OK, secret: "s-beta" })).body.id;
  });
  afterAll(async () => {
    await hl?.close();
  });

  describe("401 unauthorized", () => {
    it("without a token, every /api/v1 route is 401, whatever the body", async () => {
      const r = routes("alpha", hookA);
      for (const [method, path, body] of [...r.adminOnly, ...r.projectRead, ...r.projectWrite, ...r.anyone]) {
        expectError(await hl.api(method, path, body, { token: null }), 401, "unauthorized");
      }
      // Auth comes first: a bad, malformed or huge body does not change the answer.
      expectError(await hl.api("POST", "/api/v1/projects/alpha/webhooks", { name: 5 }, { token: null }), 401, "unauthorized");
      expectError(await hl.api("POST", "/api/v1/projects/alpha/webhooks", undefined, { token: null, raw: "{nope" }), 401, "unauthorized");
      expectError(await hl.api("POST", "/api/v1/projects/alpha/events", undefined, { token: null, raw: "x".repeat(2 * 1024 * 1024) }), 401, "unauthorized");
      expectError(await hl.api("GET", "/api/v1/projects/%00/webhooks", undefined, { token: null }), 401, "unauthorized");
    });

    it("unknown tokens and malformed Authorization headers are 401", async () => {
      const bad = [
        "nope",
        `${ADMIN_TOKEN}x`,
        ADMIN_TOKEN.slice(0, -1),
        ADMIN_TOKEN.toUpperCase(),
        "hlp_",
        "hlp_.",
        "hlp_abc",
        "hlp_abc.def",
        "hlp_!!!.???",
        "x".repeat(5000),
      ];
      for (const token of bad) expectError(await hl.api("GET", "/api/v1/projects", undefined, { token }), 401, "unauthorized");
      for (const authorization of [ADMIN_TOKEN, `Basic ${ADMIN_TOKEN}`, `Bearer`, `Bearer `, `Bearer ${ADMIN_TOKEN} extra`, `Token ${ADMIN_TOKEN}`]) {
        expectError(await hl.api("GET", "/api/v1/projects", undefined, { token: null, headers: { authorization } }), 401, "unauthorized");
      }
      // The scheme is case-insensitive (RFC 9110).
      expect((await hl.api("GET", "/api/v1/projects", undefined, { token: null, headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    });

    it("forged or modified portal tokens are 401", async () => {
      const { token } = await session("alpha", { role: "viewer" });
      const [payload, sig] = token.slice("hlp_".length).split(".");
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      const reencode = (c: unknown) => Buffer.from(JSON.stringify(c)).toString("base64url");
      const forged = [
        `hlp_${reencode({ ...claims, r: "admin" })}.${sig}`, // role raised, old signature
        `hlp_${reencode({ ...claims, p: "beta" })}.${sig}`, // other project, old signature
        `hlp_${reencode({ ...claims, e: claims.e + 3600 })}.${sig}`, // extended, old signature
        `hlp_${payload}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`, // signature changed
        `hlp_${payload}.`, // signature dropped
        `hlp_${payload}`,
        `hlp_${payload}.${sig}.extra`,
        `hlp_${payload}x.${sig}`,
        token.replace("hlp_", "HLP_"),
        // Signed correctly, but with a key Hookline does not have.
        `hlp_${payload}.${crypto.createHmac("sha256", "some-other-key-0123456789abcdef0123").update(payload).digest("base64url")}`,
      ];
      for (const t of forged) {
        const res = await hl.api("GET", "/api/v1/projects/alpha", undefined, { token: t });
        expect(res.status, t).toBe(401);
        expectError(res, 401, "unauthorized");
      }
      expect((await hl.api("GET", "/api/v1/projects/alpha", undefined, { token })).status).toBe(200);
    });

    it("an expired portal token is 401", async () => {
      const { token, expires_at } = await session("alpha", { role: "admin", ttl_seconds: 60 });
      expect(Date.parse(expires_at) - clock).toBeGreaterThan(58_000);
      expect(Date.parse(expires_at) - clock).toBeLessThanOrEqual(60_000);
      expect((await hl.api("GET", "/api/v1/projects/alpha/webhooks", undefined, { token })).status).toBe(200);
      const start = clock;
      try {
        clock = Date.parse(expires_at) - 1;
        expect((await hl.api("GET", "/api/v1/projects/alpha/webhooks", undefined, { token })).status).toBe(200);
        clock = Date.parse(expires_at);
        expectError(await hl.api("GET", "/api/v1/projects/alpha/webhooks", undefined, { token }), 401, "unauthorized");
        expectError(await hl.api("GET", "/api/v1/me", undefined, { token }), 401, "unauthorized");
        // The admin token never expires.
        clock = start + 365 * 24 * 3600 * 1000;
        expect((await hl.api("GET", "/api/v1/projects")).status).toBe(200);
      } finally {
        clock = start;
      }
    });
  });

  describe("public routes", () => {
    it("/healthz, /readyz, /metrics and /api/openapi.json need no token", async () => {
      for (const path of ["/healthz", "/readyz", "/metrics", "/api/openapi.json"]) {
        const res = await hl.api("GET", path, undefined, { token: null });
        expect(res.status, path).toBe(200);
      }
      expect((await hl.api("GET", "/healthz", undefined, { token: null })).body).toMatchObject({ status: "ok" });
      const metrics = await hl.api("GET", "/metrics", undefined, { token: null });
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      expect((await hl.api("GET", "/api/openapi.json", undefined, { token: null })).body.openapi).toMatch(/^3\./);
      // A bad token on a public route is ignored, not refused.
      expect((await hl.api("GET", "/healthz", undefined, { token: "garbage" })).status).toBe(200);
    });
  });

  describe("portal sessions", () => {
    it("POST …/portal-sessions answers {token, url, expires_at} with url = <public url>/portal#token=…", async () => {
      const res = await hl.api("POST", "/api/v1/projects/alpha/portal-sessions", { role: "viewer", ttl_seconds: 600 });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["expires_at", "token", "url"]);
      expect(typeof res.body.token).toBe("string");
      expect(res.body.url).toBe(`${PUBLIC_URL}/portal#token=${encodeURIComponent(res.body.token)}`);
      expect(new URL(res.body.url).hash).toBe(`#token=${encodeURIComponent(res.body.token)}`);
      expect(res.body.expires_at).toMatch(ISO);
      expect(Math.abs(Date.parse(res.body.expires_at) - (clock + 600_000))).toBeLessThan(1500);
    });

    it("defaults to role admin and one hour, with or without a body", async () => {
      for (const body of [undefined, {}]) {
        const res = await hl.api("POST", "/api/v1/projects/alpha/portal-sessions", body);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(Math.abs(Date.parse(res.body.expires_at) - (clock + 3600_000))).toBeLessThan(1500);
        const me = await hl.api("GET", "/api/v1/me", undefined, { token: res.body.token });
        expect(me.body).toEqual({ kind: "portal", project_id: "alpha", role: "admin", expires_at: res.body.expires_at });
      }
    });

    it("validates role and ttl_seconds; unknown projects are 404", async () => {
      for (const body of [
        { role: "owner" },
        { role: null },
        { ttl_seconds: 0 },
        { ttl_seconds: -5 },
        { ttl_seconds: 1.5 },
        { ttl_seconds: "60" },
        { ttl_seconds: 31 * 24 * 3600 },
      ]) {
        const res = await hl.api("POST", "/api/v1/projects/alpha/portal-sessions", body);
        expectError(res, 422, "validation_failed");
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual([Object.keys(body)[0]]);
      }
      expectError(await hl.api("POST", "/api/v1/projects/ghost/portal-sessions", {}), 404, "not_found");
    });

    it("GET /api/v1/me describes the token", async () => {
      expect((await hl.api("GET", "/api/v1/me")).body).toEqual({ kind: "admin" });
      const s = await session("beta", { role: "viewer", ttl_seconds: 120 });
      expect((await hl.api("GET", "/api/v1/me", undefined, { token: s.token })).body).toEqual({
        kind: "portal",
        project_id: "beta",
        role: "viewer",
        expires_at: s.expires_at,
      });
    });
  });

  describe("portal token scope", () => {
    it("sees only its own project: every other project is 404, even with a valid webhook id", async () => {
      for (const role of ["admin", "viewer"]) {
        const { token } = await session("alpha", { role });
        expect((await hl.api("GET", "/api/v1/projects/alpha", undefined, { token })).status).toBe(200);
        const r = routes("beta", hookB);
        for (const [method, path, body] of [...r.projectRead, ...r.projectWrite]) {
          expectError(await hl.api(method, path, body, { token }), 404, "not_found");
        }
        // beta's webhook through alpha's path.
        expectError(await hl.api("GET", `/api/v1/projects/alpha/webhooks/${hookB}`, undefined, { token }), 404, "not_found");
        expectError(await hl.api("GET", "/api/v1/projects/ghost/webhooks", undefined, { token }), 404, "not_found");
        expectError(await hl.api("GET", "/api/v1/projects/ALPHA", undefined, { token }), 404, "not_found");
      }
      // Nothing of beta changed.
      const b = await hl.api("GET", `/api/v1/projects/beta/webhooks/${hookB}`);
      expect(b.body.name).toBe("b");
    });

    it("admin-only routes answer 403 to portal tokens of either role, for their own project too", async () => {
      for (const role of ["admin", "viewer"]) {
        const { token } = await session("alpha", { role });
        for (const [method, path, body] of routes("alpha", hookA).adminOnly) {
          expectError(await hl.api(method, path, body, { token }), 403, "forbidden");
        }
      }
      expect((await hl.api("GET", "/api/v1/projects/alpha")).status).toBe(200);
      expect((await hl.api("GET", "/api/v1/event-types")).body.data.some((t: { name: string }) => t.name === "custom.thing")).toBe(false);
    });

    it("a viewer may read but not change (403)", async () => {
      const { token } = await session("alpha", { role: "viewer" });
      const r = routes("alpha", hookA);
      for (const [method, path, body] of [...r.projectRead, ...r.anyone]) {
        const res = await hl.api(method, path, body, { token });
        // The log entry id is made up: 404 is "allowed to look, nothing there".
        expect([200, 404], `${method} ${path}`).toContain(res.status);
        if (res.status === 404) expectError(res, 404, "not_found");
      }
      expect((await hl.api("GET", `/api/v1/projects/alpha/webhooks/${hookA}`, undefined, { token })).body).not.toHaveProperty("secret");
      for (const [method, path, body] of r.projectWrite) {
        expectError(await hl.api(method, path, body, { token }), 403, "forbidden");
      }
      const w = await hl.api("GET", `/api/v1/projects/alpha/webhooks/${hookA}`);
      expect(w.body).toMatchObject({ name: "a", enabled: true, has_secret: true });
    });

    it("a portal admin may manage its project's webhooks", async () => {
      const { token } = await session("alpha", { role: "admin" });
      const created = await hl.api(
        "POST",
        "/api/v1/projects/alpha/webhooks",
        { name: "mine", events: ["issue.created"], url: URL_OK, secret: "mine-secret", enabled: false },
        { token },
      );
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect((await hl.api("PATCH", `/api/v1/projects/alpha/webhooks/${id}`, { name: "mine 2" }, { token })).body.name).toBe("mine 2");
      expect((await hl.api("GET", `/api/v1/projects/alpha/webhooks/${id}/secret`, undefined, { token })).body).toEqual({ secret: "mine-secret" });
      expect((await hl.api("POST", `/api/v1/projects/alpha/webhooks/${id}/test`, undefined, { token })).status).toBe(202);
      expect((await hl.api("DELETE", `/api/v1/projects/alpha/webhooks/${id}`, undefined, { token })).status).toBe(204);
    });

    it("a token of a deleted project finds nothing (404), and sees nothing of a new project with another id", async () => {
      await hl.project("temp");
      const { token } = await session("temp", { role: "admin" });
      expect((await hl.api("DELETE", "/api/v1/projects/temp")).status).toBe(204);
      expectError(await hl.api("GET", "/api/v1/projects/temp", undefined, { token }), 404, "not_found");
      expectError(await hl.api("GET", "/api/v1/projects/temp/webhooks", undefined, { token }), 404, "not_found");
      expectError(await hl.api("GET", "/api/v1/projects/alpha", undefined, { token }), 404, "not_found");
    });
  });

  it("an admin token that starts like a portal token still works", async () => {
    const token = "hlp_operator-chosen-admin-token-0123456789";
    const other = await startHookline({ dialect, env: { HOOKLINE_ADMIN_TOKEN: token } });
    try {
      expect((await other.api("GET", "/api/v1/projects", undefined, { token })).status).toBe(200);
      expectError(await other.api("GET", "/api/v1/projects"), 401, "unauthorized");
    } finally {
      await other.close();
    }
  });

  // SQLite only: with PostgreSQL the data directory is ./data of the working directory (the repository here).
  it.runIf(dialect === "sqlite")("without HOOKLINE_ADMIN_TOKEN/SECRET_KEY, both are generated once into the data directory and kept", async () => {
    const db = await createTestDatabase(dialect);
    const unset = { HOOKLINE_ADMIN_TOKEN: undefined, HOOKLINE_SECRET_KEY: undefined } as unknown as Record<string, string>;
    try {
      const first = await startHookline({ dialect, database: db, env: unset });
      const token = first.runtime.creds.adminToken!;
      expect(first.runtime.creds.generatedAdminToken).toBe(true);
      expect(token.length).toBeGreaterThanOrEqual(32);
      const file = path.join(db.dataDir, "admin-token");
      expect(fs.readFileSync(file, "utf8").trim()).toBe(token);
      expect(fs.statSync(file).mode & 0o077).toBe(0); // readable by the owner only
      expect(fs.statSync(path.join(db.dataDir, "secret-key")).mode & 0o077).toBe(0);
      expect((await first.api("GET", "/api/v1/projects", undefined, { token })).status).toBe(200);
      expectError(await first.api("GET", "/api/v1/projects"), 401, "unauthorized");
      await first.api("PUT", "/api/v1/projects/gen", { name: "gen" }, { token });
      const portal = (await first.api("POST", "/api/v1/projects/gen/portal-sessions", {}, { token })).body.token;
      await first.close();

      const second = await startHookline({ dialect, database: db, env: unset });
      try {
        expect(second.runtime.creds.generatedAdminToken).toBe(false); // printed once, on the first start only
        expect(second.runtime.creds.adminToken).toBe(token);
        // The generated secret key is kept too, so portal links survive a restart.
        expect((await second.api("GET", "/api/v1/projects/gen", undefined, { token: portal })).status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      await db.drop();
    }
  });

  it("portal tokens verify on any node sharing HOOKLINE_SECRET_KEY, and on no other", async () => {
    const { token } = await session("alpha", { role: "viewer" });
    const sameKey = await startHookline({ dialect, database: hl.db });
    const otherKey = await startHookline({ dialect, env: { HOOKLINE_SECRET_KEY: "a-different-secret-key-0123456789abcdef" } });
    try {
      expect((await sameKey.api("GET", "/api/v1/projects/alpha", undefined, { token })).status).toBe(200);
      await otherKey.project("alpha");
      expectError(await otherKey.api("GET", "/api/v1/projects/alpha", undefined, { token }), 401, "unauthorized");
    } finally {
      await sameKey.close();
      await otherKey.close();
    }
  });
});
