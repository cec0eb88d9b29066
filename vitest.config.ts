import { defineConfig } from "vitest/config";

/**
 * Three groups, one after the other:
 * - "main": every other file, three at a time. The machine has two cores, but these files mostly
 *   wait (on servers, receivers, retry delays and the database), so a third file fills the gaps.
 * - "timed": files that bound a wall-clock latency (a delivery within a fraction of the timeout, a
 *   quiet project served within a second, an attempt cut at the timeout, a type-check within the
 *   test timeout, the requests beside a migration of the log within a second), one file at a time
 *   as before, so that no other file's work counts against them.
 * - "serial" (`*.serial.test.ts`: the multi-process scale-out runs and the PostgreSQL restart), last
 *   and one file at a time: a restart would break the PostgreSQL suites running beside it, and the
 *   10,000-delivery run measures throughput that parallel suites would distort.
 */
const SERIAL = "test/integration/**/*.serial.test.ts";
const TIMED = [
  "test/integration/answers-and-recover.test.ts",
  "test/integration/api-slow-clients.test.ts",
  "test/integration/burst-isolation.test.ts",
  "test/integration/delivery-actions.test.ts",
  "test/integration/delivery-crash.test.ts",
  "test/integration/delivery.test.ts",
  "test/integration/fairness.test.ts",
  "test/integration/hanging-pool.test.ts",
  "test/integration/hostile-receivers.test.ts",
  "test/integration/pg-log-partitions.test.ts",
  "test/integration/pg-notify.test.ts",
  "test/integration/rate-limit.test.ts",
  "test/integration/recover-large.test.ts",
  "test/integration/sender.test.ts",
  "test/unit/library-types.test.ts",
];

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
          exclude: [SERIAL, ...TIMED, "**/node_modules/**"],
          maxWorkers: 3,
        },
      },
      {
        extends: true,
        test: {
          name: "timed",
          include: TIMED,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: "serial",
          include: [SERIAL],
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 180_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
