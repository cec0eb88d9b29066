/**
 * Every route refuses body fields it does not know, with 422 validation_failed naming each one, so a
 * client never believes an option took effect when this server does not know it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

describe.each(DIALECTS)("unknown body fields (%s)", (dialect) => {
  let hl: TestHookline;
  let hookId: string;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.project("acme");
    hookId = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: "https://example.com/h" })).body.id;
  });
  afterAll(() => hl?.close());

  const unknownFields = (res: { status: number; body: any }) => {
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    return res.body.error.details.map((d: { field: string }) => d.field);
  };

  it("refuses unknown webhook fields on create and update, naming each, and stores nothing", async () => {
    const created = await hl.api("POST", "/api/v1/projects/acme/webhooks", {
      name: "x",
      events: ["issue.created"],
      url: "https://example.com/x",
      delivery_window: { from: "09:00" },
      colour: "red",
    });
    expect(unknownFields(created).sort()).toEqual(["colour", "delivery_window"]);
    expect(created.body.error.message).toMatch(/^(colour|delivery_window) is not a known field/);
    expect((await hl.api("GET", "/api/v1/projects/acme/webhooks")).body.data).toHaveLength(1);
    expect(unknownFields(await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${hookId}`, { name: "y", colour: "red" }))).toEqual(["colour"]);
    expect((await hl.api("GET", `/api/v1/projects/acme/webhooks/${hookId}`)).body.name).toBe("h");
  });

  it("refuses them on every other route too, nested ones by their path, and on routes that take no body", async () => {
    expect(unknownFields(await hl.api("PUT", "/api/v1/projects/acme", { name: "Acme", owner: "me" }))).toEqual(["owner"]);
    expect(unknownFields(await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: {}, priority: 1 }))).toEqual(["priority"]);
    expect(unknownFields(await hl.api("PUT", "/api/v1/event-types/issue.created", { description: "d", owner: "x" }))).toEqual(["owner"]);
    expect(unknownFields(await hl.api("POST", "/api/v1/projects/acme/portal-sessions", { role: "viewer", colour: "red" }))).toEqual(["colour"]);
    expect(unknownFields(await hl.api("POST", `/api/v1/projects/acme/webhooks/${hookId}/secret/rotate`, { grace: 5 }))).toEqual(["grace"]);
    expect(unknownFields(await hl.api("POST", `/api/v1/projects/acme/webhooks/${hookId}/test`, { event: "issue.created" }))).toEqual(["event"]);
    // The open parts stay open: a subject and an example take any fields.
    expect((await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { anything: 1 } })).status).toBe(202);
  });
});
