/**
 * docs/configuration.md and docs/event-catalog.md are generated from the code. This fails when they
 * differ; `UPDATE_DOCS=1 npx vitest run test/unit/docs-sync.test.ts` rewrites them.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configurationDoc, eventCatalogDoc } from "../../src/docs/reference.js";

const root = path.resolve(import.meta.dirname, "../..");

describe.each([
  ["docs/configuration.md", configurationDoc],
  ["docs/event-catalog.md", eventCatalogDoc],
])("%s", (file, generate) => {
  it("matches what the code generates", () => {
    const target = path.join(root, file);
    const expected = generate();
    if (process.env.UPDATE_DOCS === "1") fs.writeFileSync(target, expected);
    const actual = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "(missing)";
    expect(actual, `${file} is out of date: run UPDATE_DOCS=1 npx vitest run test/unit/docs-sync.test.ts`).toBe(expected);
  });
});

it("documents every configuration option and every catalog entry", () => {
  const config = configurationDoc();
  for (const name of ["DATABASE_URL", "HOOKLINE_RETRY_DELAYS", "HOOKLINE_ALLOW_PRIVATE_NETWORKS", "SMTP_URL", "`--no-worker`"]) expect(config).toContain(name);
  const catalog = eventCatalogDoc();
  for (const name of ["requirement.created", "test-run.completed", "milestone.completed"]) expect(catalog).toContain(`\`${name}\``);
});
