/**
 * Builds dist/ once before any test file runs, when the sources are newer than the build: tests that
 * spawn `node bin/hookline.js` need it, and building inside parallel test files would race.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "..");
  const built = fs.existsSync(path.join(root, "dist/cli/main.js")) ? fs.statSync(path.join(root, "dist/cli/main.js")).mtimeMs : 0;
  if (built === 0 || newestMtime(path.join(root, "src")) > built) {
    try {
      execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
    } catch (err) {
      // Type errors still emit JavaScript; `npm test` runs the strict build before this anyway.
      if (!fs.existsSync(path.join(root, "dist/cli/main.js"))) throw err;
    }
    // tsc leaves unchanged outputs untouched; mark the build fresh.
    const now = new Date();
    fs.utimesSync(path.join(root, "dist/cli/main.js"), now, now);
  }
}
