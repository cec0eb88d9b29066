/**
 * The browser tests run what a user runs: `bin/hookline.js` (the compiled server in dist/) and the
 * built UI in web/dist/. The UI and hookline/embed are rebuilt every run (about a second) so a stale bundle is never
 * tested by accident; the server is compiled only when dist/ is missing (`npm test`, which CI runs
 * first, builds it). HOOKLINE_E2E_SKIP_BUILD=1 skips both.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";

export default function setup(): void {
  const root = resolve(import.meta.dirname, "../../..");
  mkdirSync(resolve(root, "test-results/e2e"), { recursive: true });
  if (process.env.HOOKLINE_E2E_SKIP_BUILD === "1") return;
  if (!existsSync(resolve(root, "dist/cli/main.js"))) {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  }
  // hookline/embed, which the example host page serves to the browser.
  execFileSync("npx", ["tsc", "-p", "embed/tsconfig.json"], { cwd: root, stdio: "inherit" });
  // Vitest sets NODE_ENV=test, which would bundle React's development build.
  const env = { ...process.env, NODE_ENV: "production" };
  execFileSync("npx", ["vite", "build", "--config", "web/vite.config.ts", "--logLevel", "warn"], { cwd: root, stdio: "inherit", env });
}
