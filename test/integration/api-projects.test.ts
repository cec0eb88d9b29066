/** SPEC §4 projects: PUT (create/update), GET, list, DELETE with everything of the project. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { ISO, PROJECT_FIELDS, expectError, expectValidation, until } from "./support/api.js";

describe.each(WITH_POOLER)("projects API (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver({ respond: { status: 500 } });
    // No retries: one failed attempt disables the webhook and raises a notification at once.
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RETRY_DELAYS: "" } });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("PUT creates (201) then updates (200) with the exact project shape", async () => {
    const created = await hl.api("PUT", "/api/v1/projects/acme", { name: "Acme" });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(PROJECT_FIELDS);
    expect(created.body).toMatchObject({ id: "acme", name: "Acme", notification_emails: [] });
    expect(created.body.created_at).toMatch(ISO);
    expect(created.body.updated_at).toBe(created.body.created_at);

    await new Promise((r) => setTimeout(r, 5));
    const updated = await hl.api("PUT", "/api/v1/projects/acme", { name: "  Acme Corp  ", notification_emails: ["ops@acme.example"] });
    expect(updated.status).toBe(200);
    expect(Object.keys(updated.body).sort()).toEqual(PROJECT_FIELDS);
    expect(updated.body).toMatchObject({ id: "acme", name: "Acme Corp", notification_emails: ["ops@acme.example"] });
    expect(updated.body.created_at).toBe(created.body.created_at);
    expect(Date.parse(updated.body.updated_at)).toBeGreaterThan(Date.parse(created.body.created_at));

    const got = await hl.api("GET", "/api/v1/projects/acme");
    expect(got.status).toBe(200);
    expect(got.body).toEqual(updated.body);
  });

  it("a PUT without notification_emails keeps them; null keeps them too; [] clears them", async () => {
    await hl.project("keep", "Keep", ["a@keep.example"]);
    let res = await hl.api("PUT", "/api/v1/projects/keep", { name: "Keep 2" });
    expect(res.body.notification_emails).toEqual(["a@keep.example"]);
    res = await hl.api("PUT", "/api/v1/projects/keep", { name: "Keep 3", notification_emails: null });
    expect(res.status).toBe(200);
    expect(res.body.notification_emails).toEqual(["a@keep.example"]);
    res = await hl.api("PUT", "/api/v1/projects/keep", { name: "Keep 4", notification_emails: [] });
    expect(res.body.notification_emails).toEqual([]);
  });

  it("lists projects as {data: [project]}", async () => {
    await hl.project("list-a", "A");
    await hl.project("list-b", "B");
    const res = await hl.api("GET", "/api/v1/projects");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["data"]);
    const ids = res.body.data.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining(["list-a", "list-b"]));
    for (const p of res.body.data) expect(Object.keys(p).sort()).toEqual(PROJECT_FIELDS);
  });

  it("GET and DELETE of an unknown project are 404", async () => {
    expectError(await hl.api("GET", "/api/v1/projects/nope"), 404, "not_found");
    expectError(await hl.api("DELETE", "/api/v1/projects/nope"), 404, "not_found");
  });

  it("validates the name", async () => {
    expectValidation(await hl.api("PUT", "/api/v1/projects/badname", {}), "name");
    expectValidation(await hl.api("PUT", "/api/v1/projects/badname", { name: "" }), "name");
    expectValidation(await hl.api("PUT", "/api/v1/projects/badname", { name: "   " }), "name");
    expectValidation(await hl.api("PUT", "/api/v1/projects/badname", { name: 42 }), "name");
    expectValidation(await hl.api("PUT", "/api/v1/projects/badname", { name: null }), "name");
    expectError(await hl.api("GET", "/api/v1/projects/badname"), 404, "not_found");
  });

  it("validates notification_emails", async () => {
    const put = (notification_emails: unknown) => hl.api("PUT", "/api/v1/projects/mails", { name: "Mails", notification_emails });
    for (const bad of [
      "ops@acme.example",
      ["not-an-email"],
      ["a@b"],
      [""],
      [42],
      ["a@b.example", null],
      [" @x.example"],
      { a: 1 },
      7,
      ["x@y.example\nBcc: z@evil.example"],
    ]) {
      expectValidation(await put(bad), "notification_emails");
    }
    const many = Array.from({ length: 21 }, (_, i) => `u${i}@acme.example`);
    expectValidation(await put(many), "notification_emails");
    expectError(await hl.api("GET", "/api/v1/projects/mails"), 404, "not_found");

    const ok = await put([" a@acme.example ", "b@acme.example", "a@acme.example", ...many.slice(0, 17)]);
    expect(ok.status).toBe(201);
    expect(ok.body.notification_emails.slice(0, 2)).toEqual(["a@acme.example", "b@acme.example"]);
    expect(ok.body.notification_emails).toHaveLength(19);
  });

  it("reports every bad field at once", async () => {
    expectValidation(await hl.api("PUT", "/api/v1/projects/two", { name: "", notification_emails: ["x"] }), "name", "notification_emails");
  });

  it("accepts project ids of 1–64 characters of [A-Za-z0-9._-]", async () => {
    for (const id of ["a", "A.b_c-9", "x".repeat(64), "-", "_", "1.0"]) {
      const res = await hl.api("PUT", `/api/v1/projects/${encodeURIComponent(id)}`, { name: "ok" });
      expect(res.status, id).toBe(201);
      expect(res.body.id).toBe(id);
      const got = await hl.api("GET", `/api/v1/projects/${encodeURIComponent(id)}`);
      expect(got.status, id).toBe(200);
    }
  });

  it("refuses other project ids: 422 on PUT, 404 on GET/DELETE, never 500", async () => {
    const bad = ["x".repeat(65), "x".repeat(300), "a b", "ä", "a%00b", "a+b", "a@b", "a:b", "a,b", "😀", "a'b", 'a"b', "a<b>"];
    for (const id of bad) {
      const enc = encodeURIComponent(id);
      expectValidation(await hl.api("PUT", `/api/v1/projects/${enc}`, { name: "x" }), "project_id");
      expectError(await hl.api("GET", `/api/v1/projects/${enc}`), 404, "not_found");
      expectError(await hl.api("DELETE", `/api/v1/projects/${enc}`), 404, "not_found");
      expectError(await hl.api("GET", `/api/v1/projects/${enc}/webhooks`), 404, "not_found");
    }
    const list = await hl.api("GET", "/api/v1/projects");
    expect(list.body.data.some((p: { id: string }) => p.id.length > 64 || !/^[A-Za-z0-9._-]+$/.test(p.id))).toBe(false);
  });

  it("DELETE answers 204 and removes the project's webhooks, log entries, deliveries, events and notifications", async () => {
    await hl.project("doomed", "Doomed", ["owner@doomed.example"]);
    await hl.project("bystander");
    const hook = await hl.api("POST", "/api/v1/projects/doomed/webhooks", { name: "h", events: ["issue.created"], url: rx.url });
    expect(hook.status).toBe(201);
    const other = await hl.api("POST", "/api/v1/projects/bystander/webhooks", { name: "h", events: ["issue.created"], url: rx.url });
    expect(other.status).toBe(201);
    for (const p of ["doomed", "bystander"]) {
      expect((await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { id: 1 } })).status).toBe(202);
    }
    // The failed attempt disables the webhook (no retries configured) and raises a notification.
    for (const p of ["doomed", "bystander"]) {
      await until(async () => (await hl.api("GET", `/api/v1/projects/${p}/notifications`)).body.data.length > 0, 8000, `notification of ${p}`);
    }
    const logs = await hl.api("GET", `/api/v1/projects/doomed/webhooks/${hook.body.id}/logs`);
    expect(logs.body.data.length).toBeGreaterThan(0);

    const db = hl.runtime.ctx.store.db;
    const count = async (table: "webhooks" | "log_entries" | "deliveries" | "events" | "notifications", projectId: string) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("project_id", "=", projectId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    for (const t of ["webhooks", "log_entries", "deliveries", "events", "notifications"] as const) expect(await count(t, "doomed"), t).toBeGreaterThan(0);

    const del = await hl.api("DELETE", "/api/v1/projects/doomed");
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expectError(await hl.api("GET", "/api/v1/projects/doomed"), 404, "not_found");
    expectError(await hl.api("GET", `/api/v1/projects/doomed/webhooks/${hook.body.id}`), 404, "not_found");
    expectError(await hl.api("DELETE", "/api/v1/projects/doomed"), 404, "not_found");
    for (const t of ["webhooks", "log_entries", "deliveries", "events", "notifications"] as const) expect(await count(t, "doomed"), t).toBe(0);

    // A project re-created with the same id starts empty.
    await hl.project("doomed");
    expect((await hl.api("GET", "/api/v1/projects/doomed/webhooks")).body.data).toEqual([]);
    expect((await hl.api("GET", "/api/v1/projects/doomed/notifications")).body.data).toEqual([]);
    expectError(await hl.api("GET", `/api/v1/projects/doomed/webhooks/${hook.body.id}/logs`), 404, "not_found");

    // The other project is untouched.
    expect((await hl.api("GET", "/api/v1/projects/bystander/webhooks")).body.data).toHaveLength(1);
    expect((await hl.api("GET", "/api/v1/projects/bystander/notifications")).body.data.length).toBeGreaterThan(0);
    for (const t of ["webhooks", "log_entries", "deliveries", "events", "notifications"] as const) expect(await count(t, "bystander"), t).toBeGreaterThan(0);
  });
});
