import { defineConfig } from "vitest/config";

// Browser tests: Debian's Chromium drives the built UI served by a real `hookline serve` child
// process, which delivers to a real TLS receiver. One file at a time: each starts its own server.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/support/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    reporters: ["default"],
  },
});
