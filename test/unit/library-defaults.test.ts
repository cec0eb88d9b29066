/**
 * The library's option types (src/library/types.ts) say each option's default in their doc comment,
 * which is what an editor shows a host app's developer. The defaults themselves are defined once,
 * in src/config.ts; this fails when a doc comment says another value than the one in force.
 */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { OPTIONS } from "../../src/config.js";

const root = path.resolve(import.meta.dirname, "../..");

/** Each property of HooklineTypedConfig with the text of its doc comment. */
function typedOptionDocs(): Map<string, string> {
  const source = fs.readFileSync(path.join(root, "src/library/types.ts"), "utf8");
  const body = /export interface HooklineTypedConfig \{([\s\S]*?)\n\}/.exec(source)![1];
  const docs = new Map<string, string>();
  for (const m of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)\?:/g)) docs.set(m[2], m[1].replace(/\s*\n\s*\*\s?/g, " ").trim());
  return docs;
}

/** How a doc comment states a default that is a plain value. */
function statedDefault(value: unknown): string[] | null {
  if (typeof value === "number" || typeof value === "boolean") return [`Default ${value}.`];
  if (typeof value === "string") return [`Default \`${value}\`.`, `Default "${value}".`];
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return [`Default \`[${value.join(", ")}]\`.`];
  return null;
}

it("every typed library option documents the default that src/config.ts defines", () => {
  const docs = typedOptionDocs();
  expect(docs.size).toBeGreaterThan(20);
  const wrong: string[] = [];
  for (const [key, doc] of docs) {
    const option = (OPTIONS as Record<string, { default: unknown; defaultText?: string }>)[key];
    if (!option) continue; // a library-only option (no environment variable)
    const expected = statedDefault(option.default);
    // A default that depends on the machine is stated as its description (defaultText).
    if (option.defaultText && doc.includes(option.defaultText)) continue;
    if (expected && !expected.some((e) => doc.includes(e))) wrong.push(`${key}: "${doc}" should say ${expected[0]}`);
  }
  expect(wrong).toEqual([]);
});
