/**
 * No import cycle across src/'s layers (type-only imports included): each layer imports only the ones
 * below it, and route files get what they need from their Fastify instance, not from app.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

const src = path.resolve(import.meta.dirname, "../../src");

/** Relative imports and re-exports of every .ts file under src/, resolved to files. */
function importGraph(): Map<string, string[]> {
  const files = fs.readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(src, file), "utf8");
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"(\.[^"]+)"|^\s*import\s+"(\.[^"]+)"/gm)].map((m) => m[1] ?? m[2]);
    graph.set(
      file,
      specifiers.map((s) => path.join(path.dirname(file), s.replace(/\.js$/, ".ts"))),
    );
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as the chain of files. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const walk = (file: string, chain: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") return void found.push([...chain.slice(chain.indexOf(file)), file]);
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) walk(next, [...chain, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) walk(file, []);
  return found;
}

it("finds a cycle when there is one", () => {
  expect(
    cycles(
      new Map([
        ["a.ts", ["b.ts"]],
        ["b.ts", ["a.ts"]],
        ["c.ts", ["a.ts"]],
      ]),
    ),
  ).toEqual([["a.ts", "b.ts", "a.ts"]]);
});

it("src/ has no import cycle outside src/store", () => {
  const graph = importGraph();
  expect(graph.get("api/app.ts")).toContain("api/routes/webhooks.ts");
  // src/store's dispatchers and their dialect modules still import each other (store/db.ts ↔ sqlite/open.ts,
  // queue/claim.ts ↔ */claim-deliveries.ts); they are left to the store's own rework.
  expect(cycles(graph).filter((chain) => !chain.every((file) => file.startsWith("store/")))).toEqual([]);
});
