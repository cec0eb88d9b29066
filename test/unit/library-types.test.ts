/** Compiles test/types/ (the typed event map's @ts-expect-error cases) with the project's tsc. */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

it("type-checks createHookline<MyEvents>() publish calls", async () => {
  const tsc = path.join(root, "node_modules/typescript/bin/tsc");
  const result = await promisify(execFile)(process.execPath, [tsc, "-p", "test/types/tsconfig.json"], { cwd: root }).then(
    () => "",
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  expect(result).toBe("");
});
