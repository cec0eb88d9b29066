/** SPEC §2 webhook rules and §4 webhook routes: shapes, validation, URL policy, the active limit, secrets. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type ApiResponse, type TestHookline } from "../helpers/hookline.js";
import { startReceiver } from "../helpers/receiver.js";
import { ISO, expectError, expectValidation, expectWebhookShape, hasKeyDeep, until } from "./support/api.js";

const URL_OK = "https://hooks.example.com/hookline";
const SECRET = "whsec_sup3r-s3cret-value-for-tests";

/** Neither a `secret` field nor the secret's value anywhere in an answer. */
function expectNoSecret(res: ApiResponse, secret = SECRET): void {
  expect(hasKeyDeep(res.body, "secret")).toBe(false);
  expect(JSON.stringify(res.body)).not.toContain(secret);
}

describe.each(WITH_POOLER)("webhooks API (%s)", (dialect) => {
  let hl: TestHookline;
  let n = 0;
  /** A fresh project per test, so the active limit of one test never touches another. */
  const freshProject = async () => {
    const id = `p${++n}`;
    await hl.project(id);
    return id;
  };
  const create = (project: string, body: Record<string, unknown>) =>
    hl.api("POST", `/api/v1/projects/${project}/webhooks`, { name: "hook", events: ["test-run.completed"], url: URL_OK, ...body });

  beforeAll(async () => {
    // Production defaults for the URL policy: no private networks, no http.
    hl = await startHookline({ dialect, env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "" } });
  });
  afterAll(async () => {
    await hl?.close();
  });

  describe("create, get, list, patch, delete", () => {
    it("creates a webhook with every field of SPEC §4 and no secret", async () => {
      const p = await freshProject();
      const res = await create(p, { name: "  CI notifier  ", events: ["test-run.completed", "issue.created"], secret: SECRET });
      expect(res.status).toBe(201);
      expectWebhookShape(res.body);
      expectNoSecret(res);
      expect(res.body).toMatchObject({
        project_id: p,
        name: "CI notifier",
        events: ["test-run.completed", "issue.created"],
        url: URL_OK,
        enabled: true,
        disabled_reason: null,
        disabled_at: null,
        has_secret: true,
      });
      expect(res.body.updated_at).toBe(res.body.created_at);

      const got = await hl.api("GET", `/api/v1/projects/${p}/webhooks/${res.body.id}`);
      expect(got.status).toBe(200);
      expectWebhookShape(got.body);
      expectNoSecret(got);
      for (const k of ["id", "project_id", "name", "events", "url", "enabled", "disabled_reason", "disabled_at", "has_secret", "created_at", "updated_at"]) {
        expect(got.body[k], k).toEqual(res.body[k]);
      }
    });

    it("has_secret is false without a secret (omitted or null)", async () => {
      const p = await freshProject();
      expect((await create(p, {})).body.has_secret).toBe(false);
      expect((await create(p, { secret: null })).body.has_secret).toBe(false);
    });

    it("lists {data, active_count, active_limit} with webhook objects, oldest first, no secrets", async () => {
      const p = await freshProject();
      const a = await create(p, { name: "a", secret: SECRET });
      const b = await create(p, { name: "b", enabled: false, secret: SECRET });
      const c = await create(p, { name: "c" });
      const res = await hl.api("GET", `/api/v1/projects/${p}/webhooks`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["active_count", "active_limit", "data"]);
      expect(res.body.active_count).toBe(2);
      expect(res.body.active_limit).toBe(5);
      expect(res.body.data.map((w: { id: string }) => w.id)).toEqual([a.body.id, b.body.id, c.body.id]);
      for (const w of res.body.data) expectWebhookShape(w);
      expectNoSecret(res);
      expect(res.body.data.map((w: { has_secret: boolean }) => w.has_secret)).toEqual([true, true, false]);
    });

    it("an empty project lists nothing; an unknown project is 404", async () => {
      const p = await freshProject();
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks`)).body).toEqual({ data: [], active_count: 0, active_limit: 5 });
      expectError(await hl.api("GET", "/api/v1/projects/ghost/webhooks"), 404, "not_found");
      expectError(await create("ghost", {}), 404, "not_found");
    });

    it("PATCH changes any field, keeps the others, bumps updated_at, and never returns the secret", async () => {
      const p = await freshProject();
      const { body: w } = await create(p, { secret: SECRET });
      await new Promise((r) => setTimeout(r, 5));
      let res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { name: " renamed " });
      expect(res.status).toBe(200);
      expectWebhookShape(res.body);
      expectNoSecret(res);
      expect(res.body).toMatchObject({ id: w.id, name: "renamed", events: w.events, url: w.url, has_secret: true, created_at: w.created_at });
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(w.updated_at));

      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, {
        events: ["issue.created", "issue.updated"],
        url: "https://other.example.com/x?y=1",
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: "renamed", events: ["issue.created", "issue.updated"], url: "https://other.example.com/x?y=1" });

      const newSecret = "another-secret-value-0001";
      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { secret: newSecret });
      expect(res.body.has_secret).toBe(true);
      expectNoSecret(res, newSecret);
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}/secret`)).body).toEqual({ secret: newSecret });

      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { secret: null });
      expect(res.body.has_secret).toBe(false);
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}/secret`)).body).toEqual({ secret: null });

      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, {});
      expect(res.status).toBe(200);
      expect(res.body.name).toBe("renamed");
    });

    it("a failed PATCH changes nothing", async () => {
      const p = await freshProject();
      const { body: w } = await create(p, { secret: SECRET });
      const res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { name: "new name", url: "http://insecure.example.com" });
      expectValidation(res, "url");
      const got = await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}`);
      expect(got.body.name).toBe("hook");
      expect(got.body.updated_at).toBe(w.updated_at);
    });

    it("DELETE answers 204; the webhook is gone after", async () => {
      const p = await freshProject();
      const { body: w } = await create(p, {});
      const del = await hl.api("DELETE", `/api/v1/projects/${p}/webhooks/${w.id}`);
      expect(del.status).toBe(204);
      expect(del.body).toBeNull();
      expectError(await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}`), 404, "not_found");
      expectError(await hl.api("DELETE", `/api/v1/projects/${p}/webhooks/${w.id}`), 404, "not_found");
      expectError(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { name: "x" }), 404, "not_found");
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks`)).body.data).toEqual([]);
    });

    it("a webhook is only reachable under its own project", async () => {
      const p = await freshProject();
      const q = await freshProject();
      const { body: w } = await create(p, { secret: SECRET });
      for (const [method, suffix, body] of [
        ["GET", "", undefined],
        ["PATCH", "", { name: "x" }],
        ["DELETE", "", undefined],
        ["GET", "/secret", undefined],
        ["POST", "/test", undefined],
        ["GET", "/logs", undefined],
      ] as const) {
        expectError(await hl.api(method, `/api/v1/projects/${q}/webhooks/${w.id}${suffix}`, body), 404, "not_found");
      }
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}`)).status).toBe(200);
    });

    it("unknown or malformed webhook ids are 404", async () => {
      const p = await freshProject();
      for (const id of [
        "wh_01aaaaaaaaaaaaaaaaaaaaaaaa",
        "nope",
        "wh_",
        "WH_01AAAAAAAAAAAAAAAAAAAAAAAA",
        "evt_01aaaaaaaaaaaaaaaaaaaaaa",
        "%00",
        "%F0%9F%92%A9",
        "x".repeat(500),
      ]) {
        expectError(await hl.api("GET", `/api/v1/projects/${p}/webhooks/${id}`), 404, "not_found");
        expectError(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { name: "x" }), 404, "not_found");
        expectError(await hl.api("DELETE", `/api/v1/projects/${p}/webhooks/${id}`), 404, "not_found");
      }
    });
  });

  describe("enabled and disabled_reason", () => {
    it("created disabled → manual; enabled → null; disabled again → manual", async () => {
      const p = await freshProject();
      const created = await create(p, { enabled: false });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ enabled: false, disabled_reason: "manual" });
      expect(created.body.disabled_at).toMatch(ISO);
      const id = created.body.id;

      let res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: true });
      expect(res.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: false });
      expect(res.body).toMatchObject({ enabled: false, disabled_reason: "manual" });
      expect(res.body.disabled_at).toMatch(ISO);
      const disabledAt = res.body.disabled_at;

      // Disabling a disabled webhook, or editing it, keeps when and why it was disabled.
      await new Promise((r) => setTimeout(r, 5));
      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: false, name: "still off" });
      expect(res.body).toMatchObject({ enabled: false, disabled_reason: "manual", disabled_at: disabledAt, name: "still off" });
      // Enabling an enabled webhook is a no-op.
      await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: true });
      res = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: true });
      expect(res.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
    });

    it("auto-disabled → failures (kept by edits); enabling clears it and counts toward the limit", async () => {
      const rx = await startReceiver({ respond: { status: 500 } });
      const worker = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RETRY_DELAYS: "", HOOKLINE_MAX_ACTIVE_WEBHOOKS: "1" } });
      try {
        await worker.project("auto");
        const base = "/api/v1/projects/auto/webhooks";
        const hook = (await worker.api("POST", base, { name: "failing", events: ["issue.created"], url: rx.url })).body;
        expect((await worker.api("POST", "/api/v1/projects/auto/events", { event: "issue.created", subject: { id: 1 } })).status).toBe(202);
        const disabled = await until(
          async () => {
            const w = (await worker.api("GET", `${base}/${hook.id}`)).body;
            return w.disabled_reason === "failures" ? w : null;
          },
          8000,
          "auto-disable",
        );
        expectWebhookShape(disabled);
        expect(disabled).toMatchObject({ enabled: false, disabled_reason: "failures" });
        expect(disabled.disabled_at).toMatch(ISO);
        expect((await worker.api("GET", base)).body.active_count).toBe(0);

        let res = await worker.api("PATCH", `${base}/${hook.id}`, { name: "still failing", enabled: false });
        expect(res.body).toMatchObject({ enabled: false, disabled_reason: "failures", disabled_at: disabled.disabled_at });
        // Another webhook takes the only active slot: re-enabling is refused.
        const other = (await worker.api("POST", base, { name: "other", events: ["issue.created"], url: rx.url })).body;
        expectError(await worker.api("PATCH", `${base}/${hook.id}`, { enabled: true }), 409, "active_webhook_limit");
        await worker.api("DELETE", `${base}/${other.id}`);
        res = await worker.api("PATCH", `${base}/${hook.id}`, { enabled: true });
        expect(res.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
      } finally {
        await worker.close();
        await rx.close();
      }
    });

    it("enabled must be a boolean", async () => {
      const p = await freshProject();
      for (const enabled of ["true", 1, null, "yes"]) expectValidation(await create(p, { enabled }), "enabled");
      const { body: w } = await create(p, {});
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { enabled: "false" }), "enabled");
    });
  });

  describe("validation", () => {
    it("requires name, events and url, and reports each bad field at once", async () => {
      const p = await freshProject();
      expectValidation(await hl.api("POST", `/api/v1/projects/${p}/webhooks`, {}), "name", "events", "url");
      expectValidation(
        await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: "", events: [], url: "ftp://x", secret: "" }),
        "name",
        "events",
        "url",
        "secret",
      );
      expectValidation(
        await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: 1, events: "issue.created", url: null, secret: 5, enabled: "no" }),
        "name",
        "events",
        "url",
        "secret",
        "enabled",
      );
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks`)).body.data).toEqual([]);
    });

    it("details messages are useful", async () => {
      const p = await freshProject();
      const res = await create(p, { events: ["nope.nope"] });
      expectValidation(res, "events");
      expect(res.body.error.details[0].message).toContain("nope.nope");
    });

    it("name: 1–100 characters after trimming", async () => {
      const p = await freshProject();
      expect((await create(p, { name: "  x  " })).body.name).toBe("x");
      expect((await create(p, { name: "n".repeat(100) })).status).toBe(201);
      expect((await create(p, { name: `  ${"n".repeat(100)}\t`, enabled: false })).body.name).toBe("n".repeat(100));
      expect((await create(p, { name: "😀".repeat(100), enabled: false })).status).toBe(201);
      for (const name of ["", "   ", "\t\n", "n".repeat(101), "😀".repeat(101), ["a"], {}, null, 7]) expectValidation(await create(p, { name }), "name");
      const { body: w } = await create(p, { enabled: false });
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { name: "  " }), "name");
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { name: null }), "name");
    });

    it("events: 1+ catalog names, no duplicates, test-event reserved", async () => {
      const p = await freshProject();
      const bad: unknown[] = [
        [],
        ["unknown.event"],
        ["test-run.completed", "test-run.completed"],
        ["test-event"],
        ["test-run.completed", "test-event"],
        ["Test-Run.Completed"],
        [" test-run.completed"],
        ["test-run.completed", 5],
        [null],
        "test-run.completed",
        { "test-run.completed": true },
        null,
      ];
      for (const events of bad) expectValidation(await create(p, { events, enabled: false }), "events");
      const all = (await hl.api("GET", "/api/v1/event-types")).body.data.map((t: { name: string }) => t.name);
      const ok = await create(p, { events: all });
      expect(ok.status).toBe(201);
      expect(ok.body.events).toEqual(all);
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${ok.body.id}`, { events: [] }), "events");
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${ok.body.id}`, { events: ["test-event"] }), "events");
    });

    it("secret: 1–256 characters", async () => {
      const p = await freshProject();
      for (const secret of ["", "s".repeat(257), 42, ["s"], { s: 1 }, true]) expectValidation(await create(p, { secret, enabled: false }), "secret");
      const long = "s".repeat(256);
      const ok = await create(p, { secret: long, enabled: false });
      expect(ok.status).toBe(201);
      expectNoSecret(ok, long);
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${ok.body.id}/secret`)).body).toEqual({ secret: long });
      const one = await create(p, { secret: "x", enabled: false });
      expect(one.status).toBe(201);
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${one.body.id}`, { secret: "" }), "secret");
    });
  });

  describe("URL rules", () => {
    const refused: Array<[string, string]> = [
      ["http", "http://hooks.example.com/x"],
      ["ftp", "ftp://hooks.example.com/x"],
      ["relative", "/webhooks"],
      ["no scheme", "hooks.example.com/x"],
      ["javascript", "javascript:alert(1)"],
      ["userinfo", "https://user:pass@hooks.example.com/x"],
      ["user only", "https://user@hooks.example.com/x"],
      ["fragment", "https://hooks.example.com/x#frag"],
      ["empty fragment", "https://hooks.example.com/x#"],
      ["too long", `https://hooks.example.com/${"a".repeat(2049 - "https://hooks.example.com/".length)}`],
      ["empty", ""],
      ["spaces", "https://hooks.example.com/a b"],
      ["127.0.0.1", "https://127.0.0.1/x"],
      ["127.1", "https://127.1/x"],
      ["2130706433", "https://2130706433/x"],
      ["0x7f.1", "https://0x7f.1/x"],
      ["0177.0.0.1", "https://0177.0.0.1/x"],
      ["0x7f000001", "https://0x7f000001/x"],
      ["[::ffff:127.0.0.1]", "https://[::ffff:127.0.0.1]/x"],
      ["[::ffff:7f00:1]", "https://[::ffff:7f00:1]/x"],
      ["[::1]", "https://[::1]/x"],
      ["[::]", "https://[::]/x"],
      ["10.0.0.1", "https://10.0.0.1/x"],
      ["172.16.5.4", "https://172.16.5.4/x"],
      ["192.168.1.1", "https://192.168.1.1/x"],
      ["169.254.169.254", "https://169.254.169.254/latest/meta-data"],
      ["100.64.0.1", "https://100.64.0.1/x"],
      ["224.0.0.1", "https://224.0.0.1/x"],
      ["0.0.0.0", "https://0.0.0.0/x"],
      ["0", "https://0/x"],
      ["[fe80::1]", "https://[fe80::1]/x"],
      ["[fc00::1]", "https://[fc00::1]/x"],
      ["[ff02::1]", "https://[ff02::1]/x"],
      ["[::ffff:10.0.0.1]", "https://[::ffff:10.0.0.1]/x"],
      ["[::ffff:169.254.169.254]", "https://[::ffff:169.254.169.254]/x"],
      ["localhost", "https://localhost/x"],
      ["127.0.0.1 with port", "https://127.0.0.1:8443/x"],
      ["trailing dot", "https://127.0.0.1./x"],
    ];
    it.each(refused)("refuses %s", async (_label, url) => {
      const p = `urls-${dialect}`;
      await hl.project(p);
      const res = await create(p, { url, enabled: false });
      expectValidation(res, "url");
      expect(res.body.error.details[0].message.length).toBeGreaterThan(10);
    });

    it("accepts public https URLs, up to 2048 characters", async () => {
      const p = await freshProject();
      const max = `https://hooks.example.com/${"a".repeat(2048 - "https://hooks.example.com/".length)}`;
      expect(max).toHaveLength(2048);
      for (const [url, stored] of [
        ["https://hooks.example.com/x?y=1&z=2", "https://hooks.example.com/x?y=1&z=2"],
        ["https://HOOKS.Example.COM/Path", "https://hooks.example.com/Path"],
        ["https://hooks.example.com", "https://hooks.example.com/"],
        ["https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example/x"],
        ["https://bücher.example/x", "https://xn--bcher-kva.example/x"],
        ["https://hooks.example.com:8443/x", "https://hooks.example.com:8443/x"],
        ["https://93.184.216.34/x", "https://93.184.216.34/x"],
        ["https://[2606:4700:4700::1111]/x", "https://[2606:4700:4700::1111]/x"],
        [max, max],
      ]) {
        const res = await create(p, { url, enabled: false });
        expect(res.status, url).toBe(201);
        // Stored as given or normalized: either way the same URL.
        expect(new URL(res.body.url).href).toBe(new URL(stored).href);
      }
      const { body: w } = await create(p, { enabled: false });
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { url: "https://10.0.0.1/" }), "url");
      expectValidation(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${w.id}`, { url: "http://hooks.example.com/" }), "url");
    });

    it("HOOKLINE_ALLOW_HTTP=true allows http URLs (and still refuses private addresses)", async () => {
      const other = await startHookline({ dialect, env: { HOOKLINE_ALLOW_HTTP: "true", HOOKLINE_ALLOW_PRIVATE_NETWORKS: "" } });
      try {
        await other.project("h");
        const ok = await other.api("POST", "/api/v1/projects/h/webhooks", { name: "h", events: ["issue.created"], url: "http://hooks.example.com/x" });
        expect(ok.status).toBe(201);
        expect(ok.body.url).toBe("http://hooks.example.com/x");
        expectValidation(await other.api("POST", "/api/v1/projects/h/webhooks", { name: "h", events: ["issue.created"], url: "http://127.0.0.1/x" }), "url");
        expectValidation(
          await other.api("POST", "/api/v1/projects/h/webhooks", { name: "h", events: ["issue.created"], url: "ftp://hooks.example.com/x" }),
          "url",
        );
      } finally {
        await other.close();
      }
    });

    it("HOOKLINE_ALLOW_PRIVATE_NETWORKS=<cidrs> allows just those ranges", async () => {
      const other = await startHookline({ dialect, env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/8" } });
      try {
        await other.project("h");
        const post = (url: string) => other.api("POST", "/api/v1/projects/h/webhooks", { name: "h", events: ["issue.created"], url, enabled: false });
        expect((await post("https://10.1.2.3/x")).status).toBe(201);
        expectValidation(await post("https://192.168.0.1/x"), "url");
        expectValidation(await post("https://127.0.0.1/x"), "url");
      } finally {
        await other.close();
      }
    });
  });

  describe("active webhook limit", () => {
    it("the 6th enabled webhook is refused with 409 active_webhook_limit; disabled ones don't count", async () => {
      const p = await freshProject();
      for (let i = 0; i < 5; i++) expect((await create(p, { name: `on ${i}` })).status).toBe(201);
      const sixth = await create(p, { name: "on 5" });
      expectError(sixth, 409, "active_webhook_limit");
      expect(sixth.body.error.message).toMatch(/5/);
      for (let i = 0; i < 3; i++) expect((await create(p, { name: `off ${i}`, enabled: false })).status).toBe(201);
      const list = await hl.api("GET", `/api/v1/projects/${p}/webhooks`);
      expect(list.body.data).toHaveLength(8);
      expect(list.body.active_count).toBe(5);
      expect(list.body.active_limit).toBe(5);
    });

    it("enabling beyond the limit is 409; after disabling or deleting one it succeeds", async () => {
      const p = await freshProject();
      const on = [];
      for (let i = 0; i < 5; i++) on.push((await create(p, { name: `on ${i}` })).body);
      const off = (await create(p, { name: "off", enabled: false })).body;
      const enable = () => hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${off.id}`, { enabled: true });
      expectError(await enable(), 409, "active_webhook_limit");
      // A refused PATCH changes nothing, not even the other fields sent with it.
      const refused = await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${off.id}`, { enabled: true, name: "renamed" });
      expectError(refused, 409, "active_webhook_limit");
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${off.id}`)).body).toMatchObject({ name: "off", enabled: false, disabled_reason: "manual" });
      // Editing an enabled webhook at the limit is fine.
      expect((await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${on[0].id}`, { name: "edited", enabled: true })).status).toBe(200);

      expect((await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${on[0].id}`, { enabled: false })).status).toBe(200);
      expect((await enable()).status).toBe(200);
      expectError(await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${on[0].id}`, { enabled: true }), 409, "active_webhook_limit");
      expect((await hl.api("DELETE", `/api/v1/projects/${p}/webhooks/${on[1].id}`)).status).toBe(204);
      expect((await hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${on[0].id}`, { enabled: true })).status).toBe(200);
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks`)).body.active_count).toBe(5);
    });

    it("the limit is per project", async () => {
      const p = await freshProject();
      const q = await freshProject();
      for (let i = 0; i < 5; i++) expect((await create(p, {})).status).toBe(201);
      expect((await create(q, {})).status).toBe(201);
    });

    it("12 concurrent creates on one project give exactly 5 successes and 7× 409", async () => {
      const p = await freshProject();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => create(p, { name: `race ${i}` })));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(5);
      expect(statuses.filter((s) => s === 409)).toHaveLength(7);
      for (const r of results.filter((r) => r.status === 409)) expectError(r, 409, "active_webhook_limit");
      const list = await hl.api("GET", `/api/v1/projects/${p}/webhooks`);
      expect(list.body.active_count).toBe(5);
      expect(list.body.data).toHaveLength(5);
    });

    it("12 concurrent enables on one project give exactly 5 successes", async () => {
      const p = await freshProject();
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await create(p, { name: `off ${i}`, enabled: false })).body.id);
      const results = await Promise.all(ids.map((id) => hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: true })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(5);
      expect(results.filter((r) => r.status === 409)).toHaveLength(7);
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks`)).body.active_count).toBe(5);
    });

    it("mixed concurrent creates and enables never exceed the limit", async () => {
      const p = await freshProject();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await create(p, { name: `off ${i}`, enabled: false })).body.id);
      await Promise.all([
        ...ids.map((id) => hl.api("PATCH", `/api/v1/projects/${p}/webhooks/${id}`, { enabled: true })),
        ...Array.from({ length: 6 }, () => create(p, {})),
      ]);
      const list = await hl.api("GET", `/api/v1/projects/${p}/webhooks`);
      expect(list.body.active_count).toBe(5);
      expect(list.body.data.filter((w: { enabled: boolean }) => w.enabled)).toHaveLength(5);
    });

    it("HOOKLINE_MAX_ACTIVE_WEBHOOKS=2 is respected, also under concurrency", async () => {
      const other = await startHookline({ dialect, env: { HOOKLINE_MAX_ACTIVE_WEBHOOKS: "2" } });
      try {
        await other.project("m");
        const post = (body: Record<string, unknown> = {}) =>
          other.api("POST", "/api/v1/projects/m/webhooks", { name: "h", events: ["issue.created"], url: URL_OK, ...body });
        const results = await Promise.all(Array.from({ length: 6 }, () => post()));
        expect(results.filter((r) => r.status === 201)).toHaveLength(2);
        expectError(
          results.find((r) => r.status !== 201)!,
          409,
          "active_webhook_limit",
        );
        expect((await post({ enabled: false })).status).toBe(201);
        const list = await other.api("GET", "/api/v1/projects/m/webhooks");
        expect(list.body).toMatchObject({ active_count: 2, active_limit: 2 });
      } finally {
        await other.close();
      }
    });
  });

  describe("secret reveal", () => {
    it("GET …/secret answers {secret} (null without one), not cacheable", async () => {
      const p = await freshProject();
      const withSecret = (await create(p, { secret: SECRET })).body;
      const res = await hl.api("GET", `/api/v1/projects/${p}/webhooks/${withSecret.id}/secret`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ secret: SECRET });
      expect(res.headers.get("cache-control")).toContain("no-store");
      const without = (await create(p, {})).body;
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${without.id}/secret`)).body).toEqual({ secret: null });
      expectError(await hl.api("GET", `/api/v1/projects/${p}/webhooks/wh_01aaaaaaaaaaaaaaaaaaaaaaaa/secret`), 404, "not_found");
    });

    it("secrets keep every character exactly (unicode, spaces, quotes)", async () => {
      const p = await freshProject();
      const secret = ` "ünïcödé" 🔑 \\ secret `;
      const w = (await create(p, { secret })).body;
      expect((await hl.api("GET", `/api/v1/projects/${p}/webhooks/${w.id}/secret`)).body).toEqual({ secret });
    });
  });

  it("the OpenAPI document never shows a secret except on the reveal and rotate endpoints", async () => {
    const doc = (await hl.api("GET", "/api/openapi.json", undefined, { token: null })).body;
    for (const [path, ops] of Object.entries<Record<string, { responses?: Record<string, unknown> }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Rotation answers the new secret once (it may have been generated).
        const reveal = (path.endsWith("/secret") && method === "get") || (path.endsWith("/secret/rotate") && method === "post");
        if (!reveal) expect(hasKeyDeep(op.responses, "secret"), `${method} ${path}`).toBe(false);
      }
    }
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/whsec_[A-Za-z0-9+/=]{8,}/);
    // Examples, wherever they are, carry no secret field.
    const examples: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (k === "example" || k === "examples") examples.push(x);
          walk(x);
        }
      }
    };
    walk(doc);
    for (const e of examples) expect(hasKeyDeep(e, "secret")).toBe(false);
  });
});
