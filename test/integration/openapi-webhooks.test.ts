/**
 * /api/openapi.json is OpenAPI 3.1 with a `webhooks` entry per catalog event type: the delivery
 * body (subject by the type's schema, or shaped like its example), the example and the headers,
 * and openapi-typescript turns it into types a receiver can use.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEventBody } from "../../src/domain/payload.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

type Json = Record<string, any>;

describe.each(DIALECTS)("OpenAPI webhooks (%s)", (dialect) => {
  let hl: TestHookline;
  let doc: Json;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.api("PUT", "/api/v1/event-types/invoice.paid", {
      description: "An invoice was paid.",
      example: { id: "INV-1", total: 12.5 },
      schema: { type: "object", required: ["id", "total"], properties: { id: { type: "string" }, total: { type: "number" } } },
    });
    await hl.api("PUT", "/api/v1/event-types/note.added", { description: "A note.", example: { text: "hi", tags: ["a"] } });
    doc = (await hl.api("GET", "/api/openapi.json", undefined, { token: null })).body;
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("is OpenAPI 3.1 with one webhook per event type of the catalog", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const names = (await hl.api("GET", "/api/v1/event-types")).body.data.map((t: { name: string }) => t.name).sort();
    expect(Object.keys(doc.webhooks).sort()).toEqual(names);
    expect(names).toEqual(expect.arrayContaining(["invoice.paid", "note.added", "test-run.completed"]));
  });

  it("each entry is a POST with the delivery body, its example and the delivery headers", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const [name, item] of Object.entries<Json>(doc.webhooks)) {
      const op = item.post;
      const media = op.requestBody.content["application/json"];
      expect(op.requestBody.required).toBe(true);
      expect(media.example).toMatchObject({ event: name, project_id: expect.any(String) });
      const headers = Object.fromEntries(op.parameters.map((p: Json) => [p.name, p]));
      for (const h of [
        "Hookline-Event",
        "Hookline-Delivery",
        "Hookline-Attempt",
        "Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "User-Agent",
      ]) {
        expect(headers[h]?.in, `${name} ${h}`).toBe("header");
      }
      expect(headers["Hookline-Event"].schema.const).toBe(name);
      expect(Object.keys(op.responses)).toEqual(["2XX"]);
      const validate = ajv.compile(media.schema);
      // The example is a valid body, and so is a body Hookline builds for it.
      expect(validate(media.example), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      const built = JSON.parse(
        buildEventBody({ id: "evt_01JD2Z0X7E8Q4W5R6T7Y8U9I0P", event: name, createdAt: new Date(), projectId: "acme", subject: media.example.subject }),
      );
      expect(validate(built), name).toBe(true);
      expect(validate({ ...built, event: "other.event" }), `${name} accepts another event name`).toBe(false);
    }
    const invoice = doc.webhooks["invoice.paid"].post.requestBody.content["application/json"].schema.properties.subject;
    expect(invoice).toMatchObject({ required: ["id", "total"], properties: { total: { type: "number" } } });
    const note = doc.webhooks["note.added"].post.requestBody.content["application/json"].schema.properties.subject;
    expect(note).toMatchObject({ type: "object", properties: { text: { type: "string" }, tags: { type: "array", items: { type: "string" } } } });
  });

  it("openapi-typescript turns it into `components` and `webhooks` types that type-check a receiver", async () => {
    const source = astToString(await openapiTS(doc as any));
    expect(source).toMatch(/export interface components\b/);
    expect(source).toMatch(/export interface webhooks\b/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-oas-ts-"));
    try {
      fs.writeFileSync(path.join(dir, "hookline.d.ts"), source);
      fs.writeFileSync(
        path.join(dir, "receiver.ts"),
        `import type { webhooks } from "./hookline";
type Paid = webhooks["invoice.paid"]["post"]["requestBody"]["content"]["application/json"];
export const ok: Paid = { id: "evt_1", event: "invoice.paid", created_at: "2026-01-01T00:00:00Z", project_id: "acme", subject: { id: "INV-1", total: 3 } };
// @ts-expect-error the schema requires total to be a number
export const wrongTotal: Paid = { ...ok, subject: { id: "INV-1", total: "3" } };
// @ts-expect-error the event name is fixed per webhook
export const wrongEvent: Paid = { ...ok, event: "note.added" };
type Run = webhooks["test-run.completed"]["post"]["requestBody"]["content"]["application/json"]["subject"];
export const passed: number | undefined = ({} as Run).totals?.passed;
`,
      );
      const program = ts.createProgram([path.join(dir, "receiver.ts")], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        skipLibCheck: true,
      });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
