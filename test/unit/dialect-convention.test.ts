/**
 * Dialect differences live in src/store, behind functions (store/db.ts): store functions find the
 * dialect from the `db` they are given, and what only one dialect has is an optional member of the
 * Store. Code above the store never branches on the dialect nor passes it in. This fails when a
 * file outside src/store does.
 */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

const src = path.resolve(import.meta.dirname, "../../src");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

it("no code outside src/store branches on the dialect or passes it to the store", () => {
  const offending: string[] = [];
  // config.ts reads DATABASE_URL: it is where the dialect (and the SQLite data directory) comes from.
  const exempt = (f: string) => f.startsWith(path.join(src, "store") + path.sep) || f === path.join(src, "config.ts");
  for (const file of files(src).filter((f) => f.endsWith(".ts") && !exempt(f))) {
    fs.readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (/\bdialect\s*[!=]==|[!=]==\s*\S*dialect\b|store\.dialect\b|\bisSqlite\(/.test(line))
          offending.push(`${path.relative(src, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(offending).toEqual([]);
});
