import { defineConfig } from "vitest/config";

/**
 * Two groups. "serial" files (`*.serial.test.ts`: the multi-process scale-out runs and the PostgreSQL
 * restart) run after every other file has finished, one file at a time: a restart would break the
 * PostgreSQL suites running beside it, and the 10,000-delivery run measures throughput that parallel
 * suites would distort.
 */
const SERIAL = "test/integration/**/*.serial.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: [SERIAL, "**/node_modules/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "serial",
          include: [SERIAL],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
