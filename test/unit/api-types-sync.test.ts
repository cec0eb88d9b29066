/**
 * web/src/api/schema.d.ts (the UI's API types) is generated from the /api/openapi.json the app
 * serves. This fails when it is stale; `npm run gen:api-types` rewrites it. Runs against dist/
 * (`npm test` builds first).
 */
import fs from "node:fs";
import { expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without type declarations
import { generateApiTypes, TARGET } from "../../web/scripts/gen-api-types.js";

it("web/src/api/schema.d.ts matches the OpenAPI document of the app", async () => {
  const expected: string = await generateApiTypes();
  const actual = fs.existsSync(TARGET) ? fs.readFileSync(TARGET, "utf8") : "(missing)";
  expect(actual === expected, "web/src/api/schema.d.ts is out of date: run npm run gen:api-types").toBe(true);
}, 60_000);
