/** SPEC §1 event catalog: the default catalog, the admin API, HOOKLINE_EVENT_TYPES files, reserved names. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS, createTestDatabase } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { expectError, expectValidation } from "./support/api.js";

const SPEC_CATALOG = [
  "requirement.created",
  "requirement.updated",
  "requirement.deleted",
  "risk.created",
  "risk.updated",
  "risk.deleted",
  "test-case.created",
  "test-case.updated",
  "test-case.deleted",
  "test-run.created",
  "test-run.updated",
  "test-run.completed",
  "test-run.deleted",
  "test-result.created",
  "test-result.updated",
  "issue.created",
  "issue.updated",
  "issue.deleted",
  "milestone.created",
  "milestone.updated",
  "milestone.completed",
];
const URL_OK = "https://hooks.example.com/in";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-catalog-"));
function catalogFile(name: string, content: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const names = async (hl: TestHookline) => (await hl.api("GET", "/api/v1/event-types")).body.data.map((t: { name: string }) => t.name).sort();

describe.each(DIALECTS)("event types (%s)", (dialect) => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("ships the default catalog: the 21 names of SPEC §1, each with a description and an example", async () => {
    const res = await hl.api("GET", "/api/v1/event-types");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["data"]);
    expect(res.body.data.map((t: { name: string }) => t.name).sort()).toEqual([...SPEC_CATALOG].sort());
    for (const t of res.body.data) {
      expect(Object.keys(t).sort()).toEqual(["description", "example", "name", "schema"]);
      expect(t.schema).toMatchObject({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object" });
      expect(typeof t.description).toBe("string");
      expect(t.description.length).toBeGreaterThan(5);
      expect(t.example).toBeTypeOf("object");
      expect(t.example).not.toBeNull();
      expect(Object.keys(t.example).length).toBeGreaterThan(0);
    }
    expect(res.body.data.some((t: { name: string }) => t.name === "test-event")).toBe(false);
  });

  it("any valid token may read the catalog", async () => {
    const { token } = (await hl.api("POST", "/api/v1/projects/acme/portal-sessions", { role: "viewer" })).body;
    expect((await hl.api("GET", "/api/v1/event-types", undefined, { token })).status).toBe(200);
  });

  it("PUT /api/v1/event-types/{name} creates a type that webhooks can subscribe to and events can use", async () => {
    const res = await hl.api("PUT", "/api/v1/event-types/deployment.finished", {
      description: "  A deployment finished.  ",
      example: { id: "DEP-1", env: "prod" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: "deployment.finished", description: "A deployment finished.", example: { id: "DEP-1", env: "prod" }, schema: null });
    const listed = (await hl.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "deployment.finished");
    expect(listed).toEqual(res.body);
    const hook = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "d", events: ["deployment.finished"], url: URL_OK });
    expect(hook.status).toBe(201);
    const pub = await hl.api("POST", "/api/v1/projects/acme/events", { event: "deployment.finished", subject: { id: "DEP-1" } });
    expect(pub.status).toBe(202);
    expect(pub.body.deliveries).toBe(1);
  });

  it("PUT updates an existing type; without an example it keeps the old one; example defaults to {}", async () => {
    let res = await hl.api("PUT", "/api/v1/event-types/test-run.completed", { description: "A run finished (all results in)." });
    expect(res.status).toBe(200);
    expect(res.body.description).toBe("A run finished (all results in).");
    expect(res.body.example).toMatchObject({ id: "TR-7" });
    res = await hl.api("PUT", "/api/v1/event-types/test-run.completed", { description: "Again.", example: { id: "TR-8" } });
    expect(res.body).toMatchObject({ name: "test-run.completed", description: "Again.", example: { id: "TR-8" } });
    expect(res.body.schema.properties.totals).toBeDefined();
    res = await hl.api("PUT", "/api/v1/event-types/build", { description: "A build." });
    expect(res.body).toEqual({ name: "build", description: "A build.", example: {}, schema: null });
    for (const example of [[1, 2], "text", 42, null, { nested: { deep: [true] } }]) {
      const r = await hl.api("PUT", "/api/v1/event-types/example.kinds", { description: "Examples.", example });
      expect(r.status).toBe(200);
      expect(r.body.example).toEqual(example ?? {});
    }
    expect(await names(hl)).toHaveLength(SPEC_CATALOG.length + 3);
  });

  it("validates the name and the description", async () => {
    for (const name of ["Upper.Case", "a..b", ".a", "a.", "-a.b", "with space", "a/b", "ü.x", `a.${"b".repeat(100)}`, "a%00b"]) {
      expectValidation(await hl.api("PUT", `/api/v1/event-types/${encodeURIComponent(name)}`, { description: "ok" }), "name");
    }
    for (const body of [
      {},
      { description: "" },
      { description: "   " },
      { description: 5 },
      { description: "d".repeat(1001) },
      { description: "a\u0000b" },
      { description: null },
    ]) {
      expectValidation(await hl.api("PUT", "/api/v1/event-types/valid.name", body), "description");
    }
    expect((await names(hl)).includes("valid.name")).toBe(false);
  });

  it("test-event (and webhook.disabled) are reserved: not definable, not subscribable, not publishable", async () => {
    for (const name of ["test-event", "webhook.disabled"]) {
      const res = await hl.api("PUT", `/api/v1/event-types/${name}`, { description: "mine" });
      expectValidation(res, "name");
      expect(res.body.error.details[0].message).toMatch(/reserved/);
      expectValidation(await hl.api("POST", "/api/v1/projects/acme/events", { event: name, subject: {} }), "event");
      expectValidation(await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "t", events: [name], url: URL_OK }), "events");
    }
    expect(await names(hl)).not.toContain("test-event");
  });

  it("publishing an unknown event is 422", async () => {
    for (const event of ["nope.nope", "TEST-RUN.COMPLETED", "test-run.completed ", "", "test-run"]) {
      const res = await hl.api("POST", "/api/v1/projects/acme/events", { event, subject: { id: 1 } });
      expectValidation(res, "event");
    }
    expectError(await hl.api("POST", "/api/v1/projects/ghost/events", { event: "issue.created", subject: {} }), 404, "not_found");
  });

  it("a type's schema (JSON Schema 2020-12) validates published subjects: 422 with the schema errors as details", async () => {
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      required: ["id", "total"],
      properties: {
        id: { type: "string", pattern: "^INV-" },
        total: { type: "number", minimum: 0 },
        lines: { type: "array", items: { type: "object", required: ["sku"] } },
      },
      additionalProperties: false,
    };
    const put = await hl.api("PUT", "/api/v1/event-types/invoice.paid", { description: "An invoice was paid.", example: { id: "INV-1", total: 10 }, schema });
    expect(put.status).toBe(200);
    expect(put.body.schema).toEqual(schema);
    const publish = (subject: unknown) => hl.api("POST", "/api/v1/projects/acme/events", { event: "invoice.paid", subject });
    expect((await publish({ id: "INV-1", total: 10, lines: [{ sku: "A" }] })).status).toBe(202);
    const bad = await publish({ id: "X-1", lines: [{}], extra: true });
    expectValidation(bad, "subject.extra", "subject.id", "subject.lines.0.sku", "subject.total");
    for (const d of bad.body.error.details) expect(d.message).toEqual(expect.any(String));
    // A description-only PUT keeps the schema; `schema: null` removes it.
    await hl.api("PUT", "/api/v1/event-types/invoice.paid", { description: "Paid." });
    expectValidation(await publish({ id: "X-1" }), "subject.id", "subject.total");
    expect((await hl.api("PUT", "/api/v1/event-types/invoice.paid", { description: "Paid.", schema: null })).body.schema).toBeNull();
    expect((await publish({ id: "X-1" })).status).toBe(202);
    // The default catalog's schemas describe the documented fields' types.
    expectValidation(
      await hl.api("POST", "/api/v1/projects/acme/events", {
        event: "test-run.completed",
        subject: { id: "TR-1", totals: { passed: "many", failed: 0, blocked: 0, untested: 0 } },
      }),
      "subject.totals.passed",
    );
  });

  it("refuses an invalid schema at PUT with 422 on the schema field, and keeps the old one", async () => {
    await hl.api("PUT", "/api/v1/event-types/schema.kept", { description: "Kept.", schema: { type: "object", required: ["id"] } });
    for (const schema of [
      { type: "strin" },
      "text",
      [1],
      5,
      { minimum: "zero" },
      { $schema: "http://json-schema.org/draft-07/schema#", type: "object" },
      { $ref: "#/nowhere" },
    ]) {
      const res = await hl.api("PUT", "/api/v1/event-types/schema.kept", { description: "Changed.", schema });
      expectValidation(res, "schema");
    }
    const kept = (await hl.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "schema.kept");
    expect(kept).toEqual({ name: "schema.kept", description: "Kept.", example: {}, schema: { type: "object", required: ["id"] } });
  });

  it("types added through the API survive a restart without a catalog file", async () => {
    await hl.api("PUT", "/api/v1/event-types/survives.restart", { description: "Still here." });
    const again = await startHookline({ dialect, database: hl.db });
    try {
      expect(await names(again)).toContain("survives.restart");
      expect((await again.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "test-run.completed").description).toBe(
        "Again.",
      );
    } finally {
      await again.close();
    }
  });

  describe("HOOKLINE_EVENT_TYPES", () => {
    it("a JSON array on a new database is the whole catalog (no default types)", async () => {
      const file = catalogFile(`replace-${dialect}.json`, [
        { name: "order.placed", description: "An order was placed.", example: { id: "O-1" } },
        { name: "order.shipped", description: "An order shipped." },
      ]);
      const other = await startHookline({ dialect, env: { HOOKLINE_EVENT_TYPES: file } });
      try {
        expect(await names(other)).toEqual(["order.placed", "order.shipped"]);
        const t = (await other.api("GET", "/api/v1/event-types")).body.data;
        expect(t.find((x: { name: string }) => x.name === "order.shipped").example).toEqual({});
        await other.project("shop");
        expectValidation(await other.api("POST", "/api/v1/projects/shop/webhooks", { name: "w", events: ["issue.created"], url: URL_OK }), "events");
        expectValidation(await other.api("POST", "/api/v1/projects/shop/events", { event: "issue.created", subject: {} }), "event");
        expect((await other.api("POST", "/api/v1/projects/shop/webhooks", { name: "w", events: ["order.placed"], url: URL_OK })).status).toBe(201);
        expect((await other.api("POST", "/api/v1/projects/shop/events", { event: "order.placed", subject: { id: "O-1" } })).status).toBe(202);
      } finally {
        await other.close();
      }
    });

    it('{extends: "default", event_types} adds to the default catalog and may override entries', async () => {
      const file = catalogFile(`extends-${dialect}.json`, {
        extends: "default",
        event_types: [
          { name: "order.placed", description: "An order was placed.", example: { id: "O-1" } },
          { name: "issue.created", description: "A bug was filed.", example: { id: "BUG-1" } },
        ],
      });
      const other = await startHookline({ dialect, env: { HOOKLINE_EVENT_TYPES: file } });
      try {
        expect(await names(other)).toEqual([...SPEC_CATALOG, "order.placed"].sort());
        const issue = (await other.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "issue.created");
        expect(issue).toEqual({ name: "issue.created", description: "A bug was filed.", example: { id: "BUG-1" }, schema: null });
      } finally {
        await other.close();
      }
    });

    it("restarting with another file adds its types and removes none (the catalog is the cluster's)", async () => {
      const db = await createTestDatabase(dialect);
      try {
        const first = await startHookline({ dialect, database: db });
        expect(await names(first)).toHaveLength(SPEC_CATALOG.length);
        await first.close();
        const listed = await startHookline({
          dialect,
          database: db,
          env: { HOOKLINE_EVENT_TYPES: catalogFile(`r-${dialect}.json`, { event_types: [{ name: "only.one", description: "Only one." }] }) },
        });
        expect(await names(listed)).toEqual([...SPEC_CATALOG, "only.one"].sort());
        await listed.close();
        const extended = await startHookline({
          dialect,
          database: db,
          env: { HOOKLINE_EVENT_TYPES: catalogFile(`e-${dialect}.json`, { extends: "default", event_types: [{ name: "extra.one", description: "Extra." }] }) },
        });
        expect(await names(extended)).toEqual([...SPEC_CATALOG, "extra.one", "only.one"].sort());
        await extended.close();
      } finally {
        await db.drop();
      }
    });

    it("two nodes with different files share one catalog: each adds and updates its types, neither undoes the other", async () => {
      const db = await createTestDatabase(dialect);
      const fileA = catalogFile(`node-a-${dialect}.json`, [
        { name: "order.placed", description: "Placed (node A).", example: { id: "O-1" } },
        { name: "order.paid", description: "Paid." },
      ]);
      const fileB = catalogFile(`node-b-${dialect}.json`, [
        { name: "order.placed", description: "Placed (node B).", example: { id: "O-2" } },
        { name: "order.shipped", description: "Shipped." },
      ]);
      const nodes: TestHookline[] = [];
      try {
        // Started together (SQLite: one after the other, as its migrations do not take turns), then
        // one restarted, then a node without a file: the union survives all.
        const start = (f: string) => startHookline({ dialect, database: db, env: { HOOKLINE_EVENT_TYPES: f } });
        if (dialect === "postgres") nodes.push(...(await Promise.all([fileA, fileB].map(start))));
        else for (const f of [fileA, fileB]) nodes.push(await start(f));
        const union = ["order.paid", "order.placed", "order.shipped"];
        for (const n of nodes) expect(await names(n)).toEqual(union);
        await nodes[0].api("PUT", "/api/v1/event-types/added.by-api", { description: "Through the admin API." });
        await nodes.pop()!.close();
        nodes.push(await startHookline({ dialect, database: db, env: { HOOKLINE_EVENT_TYPES: fileB } }));
        expect(await names(nodes[0])).toEqual(["added.by-api", ...union]);
        const placed = (await nodes[0].api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "order.placed");
        expect(placed).toEqual({ name: "order.placed", description: "Placed (node B).", example: { id: "O-2" }, schema: null });
        nodes.push(await startHookline({ dialect, database: db }));
        expect(await names(nodes[2])).toEqual(["added.by-api", ...union]);
        // A type added by the other node is publishable here at once.
        await nodes[2].project("shop");
        expect((await nodes[2].api("POST", "/api/v1/projects/shop/events", { event: "order.shipped", subject: { id: "O-1" } })).status).toBe(202);
      } finally {
        for (const n of nodes) await n.close();
        await db.drop();
      }
    });

    it("a file's entries may carry a schema, which publishes are validated against", async () => {
      const file = catalogFile(`schema-${dialect}.json`, [
        {
          name: "order.placed",
          description: "Placed.",
          example: { id: "O-1" },
          schema: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
        },
      ]);
      const other = await startHookline({ dialect, env: { HOOKLINE_EVENT_TYPES: file } });
      try {
        await other.project("shop");
        expectValidation(await other.api("POST", "/api/v1/projects/shop/events", { event: "order.placed", subject: { id: 1 } }), "subject.id");
        expect((await other.api("POST", "/api/v1/projects/shop/events", { event: "order.placed", subject: { id: "O-1" } })).status).toBe(202);
      } finally {
        await other.close();
      }
    });

    it.each([
      ["a missing file", null],
      ["invalid JSON", "{ nope"],
      ["an empty list", []],
      ["a list of strings", ["order.placed"]],
      ["a reserved name", [{ name: "test-event", description: "x" }]],
      ["a bad name", [{ name: "Bad Name", description: "x" }]],
      ["a missing description", [{ name: "order.placed" }]],
      ["an invalid schema", [{ name: "order.placed", description: "x", schema: { type: "strin" } }]],
      ["an unknown base", { extends: "defaults", event_types: [{ name: "order.placed", description: "x" }] }],
      ["an object without event_types", { types: [] }],
    ])("refuses %s at start with an error naming HOOKLINE_EVENT_TYPES", async (label, content) => {
      const file = content === null ? path.join(tmp, "does-not-exist.json") : catalogFile(`bad-${label.replace(/\W+/g, "-")}-${dialect}.json`, content);
      const db = await createTestDatabase(dialect);
      try {
        await expect(startHookline({ dialect, database: db, env: { HOOKLINE_EVENT_TYPES: file } })).rejects.toThrow(/HOOKLINE_EVENT_TYPES/);
      } finally {
        await db.drop();
      }
    });
  });
});
