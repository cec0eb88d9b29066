/** SPEC §6 configuration: every option's parsing and default; a bad value names its variable (also at the CLI). */
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, DEMO_FRAME_ANCESTORS, OPTIONS, resolveConfig, type ResolvedConfig } from "../../src/config.js";
import { listenUrlOf } from "../../src/store/postgres/notifier.js";

type Key = keyof typeof OPTIONS;

function expectConfigError(fn: () => unknown, variable: string): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ConfigError for ${variable}`).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.variable).toBe(variable);
  expect(err.message).toContain(variable);
  return err;
}

const KEY = crypto.randomBytes(32).toString("base64");
const KEY2 = crypto.randomBytes(32).toString("base64");

/** For each option: good raw values with what they resolve to, and bad raw values. */
const CASES: { [K in Key]: { good: Array<[string, unknown]>; bad: string[] } } = {
  port: {
    good: [
      ["8080", 8080],
      [" 9000 ", 9000],
      ["0", 0],
      ["65535", 65535],
    ],
    bad: ["99999", "65536", "-1", "abc", "80.5", "", "8080abc", "1e3"],
  },
  databaseUrl: {
    good: [
      ["/var/lib/hookline/h.db", "/var/lib/hookline/h.db"],
      ["postgres://u@db/hl", "postgres://u@db/hl"],
      ["postgresql://u@db/hl", "postgresql://u@db/hl"],
      [" ./x.db ", "./x.db"],
      ["sqlite://./data/x.db", "sqlite://./data/x.db"],
    ],
    bad: ["", "   ", "mysql://u@db/hl", "https://db.example.com/hl"],
  },
  frameAncestors: {
    good: [
      ["", []],
      ["https://app.example.com", ["https://app.example.com"]],
      [" https://App.Example.com/  http://localhost:3000 https://app.example.com:443 ", ["https://app.example.com", "http://localhost:3000"]],
    ],
    bad: [
      "*",
      "'self'",
      "app.example.com",
      "https://app.example.com/settings",
      "https://*.example.com",
      "https://a.example.com,https://b.example.com",
      "ftp://x.example.com",
    ],
  },
  publicUrl: {
    good: [
      ["https://hooks.example.com", "https://hooks.example.com"],
      ["https://hooks.example.com/", "https://hooks.example.com"],
      ["http://localhost:8080/hookline/", "http://localhost:8080/hookline"],
      ["", "http://localhost:8080"],
    ],
    bad: [
      "hooks.example.com",
      "ftp://hooks.example.com",
      "https://hooks.example.com/?a=1",
      "https://hooks.example.com/#x",
      "https://u:p@hooks.example.com",
      "not a url",
    ],
  },
  adminToken: {
    good: [
      ["0123456789abcdef", "0123456789abcdef"],
      ["  hla_abcdefghijklmnop  ", "hla_abcdefghijklmnop"],
    ],
    bad: ["short", "", "0123456789 abcdef", "0123456789abcdé€"],
  },
  secretKey: { good: [["k".repeat(32), "k".repeat(32)]], bad: ["k".repeat(31), ""] },
  encryptionKey: {
    good: [
      [KEY, { currentId: "k1" }],
      [`new:${KEY},old:${KEY2}`, { currentId: "new" }],
    ],
    bad: ["", "not-base64-!!!", crypto.randomBytes(16).toString("base64"), `${KEY},${KEY2}`, `a:${KEY},a:${KEY2}`],
  },
  retryDelaysMs: {
    good: [
      ["1,10,100", [1000, 10_000, 100_000]],
      ["0.1, 0.25 ,2", [100, 250, 2000]],
      [".5", [500]],
      ["0", [0]],
      ["", []],
    ],
    bad: ["1,x", "1,,2", "1,10,", "-1", "1e2", "abc", "1;2", String(8 * 24 * 3600), Array(21).fill("1").join(",")],
  },
  timeoutMs: {
    good: [
      ["10000", 10_000],
      ["100", 100],
      ["600000", 600_000],
    ],
    bad: ["abc", "99", "600001", "1.5", "", "10s"],
  },
  maxActiveWebhooks: {
    good: [
      ["5", 5],
      ["1", 1],
      ["1000", 1000],
    ],
    bad: ["0", "-1", "1001", "five", ""],
  },
  logRetentionDays: {
    good: [
      ["14", 14],
      ["1", 1],
      ["3650", 3650],
    ],
    bad: ["0", "3651", "2w", ""],
  },
  allowHttp: {
    good: [
      ["true", true],
      ["TRUE", true],
      ["1", true],
      ["yes", true],
      ["on", true],
      ["false", false],
      ["0", false],
      ["no", false],
      ["off", false],
      ["", false],
    ],
    bad: ["maybe", "2", "enabled"],
  },
  allowPrivateNetworks: {
    good: [
      ["true", { allowPrivateNetworks: true, allowedCidrs: [] }],
      ["false", { allowPrivateNetworks: false, allowedCidrs: [] }],
      ["", { allowPrivateNetworks: false, allowedCidrs: [] }],
      ["10.0.0.0/8, 192.168.1.0/24", { allowPrivateNetworks: false, allowedCidrs: ["10.0.0.0/8", "192.168.1.0/24"] }],
      ["fd00::/8", { allowPrivateNetworks: false, allowedCidrs: ["fd00::/8"] }],
      ["127.0.0.1", { allowPrivateNetworks: false, allowedCidrs: ["127.0.0.1/32"] }],
    ],
    bad: ["10.0.0.0/99", "10.0.0.1/8", "not-a-cidr", "yes", "fd00::/129", "10.0.0.0/8,bogus"],
  },
  eventTypesFile: {
    good: [
      ["./events.json", "./events.json"],
      ["", undefined],
      ["  ", undefined],
    ],
    bad: [],
  },
  notifyUrl: {
    good: [
      ["https://ops.example.com/hook", "https://ops.example.com/hook"],
      ["", undefined],
    ],
    bad: ["ops.example.com", "mailto:ops@example.com"],
  },
  proxyUrl: {
    good: [
      ["http://proxy.internal:3128", "http://proxy.internal:3128"],
      [" http://u:p%40ss@10.0.0.1:8080 ", "http://u:p%40ss@10.0.0.1:8080"],
      ["", undefined],
    ],
    bad: ["proxy.internal:3128", "https://proxy.internal:3128", "http://proxy.internal", "http://proxy.internal:3128/path", "socks5://p:1080"],
  },
  notifySecret: {
    good: [
      ["s3cret", "s3cret"],
      ["", undefined],
    ],
    bad: [],
  },
  smtpUrl: {
    good: [
      ["smtp://mail.example.com:25", "smtp://mail.example.com:25"],
      ["smtps://u:p@mail.example.com", "smtps://u:p@mail.example.com"],
      ["", undefined],
    ],
    bad: ["mail.example.com", "https://mail.example.com"],
  },
  smtpFrom: { good: [["Hookline <noreply@example.com>", "Hookline <noreply@example.com>"]], bad: [] },
  worker: {
    good: [
      ["false", false],
      ["true", true],
    ],
    bad: ["nope"],
  },
  concurrency: {
    good: [
      ["64", 64],
      ["1", 1],
    ],
    bad: ["0", "10001", "many"],
  },
  senderThreads: {
    good: [
      ["1", 1],
      ["4", 4],
    ],
    bad: ["0", "65", "two"],
  },
  poolSize: {
    good: [
      ["10", 10],
      ["1", 1],
    ],
    bad: ["0", "1001", "x"],
  },
  dbLockTimeoutMs: {
    good: [
      ["5000", 5000],
      ["0", 0],
    ],
    bad: ["-1", "x", "3600001"],
  },
  dbStatementTimeoutMs: {
    good: [
      ["30000", 30000],
      ["0", 0],
    ],
    bad: ["-5", "1.5"],
  },
  pgPooler: {
    good: [
      ["transaction", "transaction"],
      [" Transaction ", "transaction"],
      ["", undefined],
    ],
    bad: ["session", "statement", "true"],
  },
  pgListenUrl: {
    good: [
      ["postgres://hookline@db.internal:5432/hookline", "postgres://hookline@db.internal:5432/hookline"],
      ["", undefined],
    ],
    bad: ["db.internal:5432", "https://db.internal"],
  },
  otlpEndpoint: {
    good: [
      ["http://127.0.0.1:4318", "http://127.0.0.1:4318"],
      ["", undefined],
    ],
    bad: ["collector:4318", "ftp://x"],
  },
  metricsPort: {
    good: [
      ["9464", 9464],
      ["0", 0],
      ["", undefined],
    ],
    bad: ["65536", "-1", "x"],
  },
  perWebhookConcurrency: { good: [["8", 8]], bad: ["0", "1001", "x"] },
  rateLimit: {
    good: [
      ["600", 600],
      ["0", 0],
      ["1000000", 1_000_000],
    ],
    bad: ["-1", "1000001", "10/s", ""],
  },
  demo: {
    good: [
      ["true", true],
      ["false", false],
    ],
    bad: ["sure"],
  },
  logLevel: {
    good: [
      ["debug", "debug"],
      ["silent", "silent"],
      [" warn ", "warn"],
    ],
    bad: ["verbose", "", "INFO"],
  },
};

describe("config", () => {
  it("covers every option of OPTIONS in this table (add a case when adding an option)", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(OPTIONS).sort());
  });

  it("starts one sender thread per two CPUs, from 1 to 4", () => {
    expect(resolveConfig({}).senderThreads).toBe(Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2))));
  });

  it("resolves the documented defaults with an empty environment", () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      port: 8080,
      databaseUrl: "./data/hookline.db",
      dialect: "sqlite",
      dataDir: "./data",
      publicUrl: "http://localhost:8080",
      adminToken: undefined,
      secretKey: undefined,
      encryptionKey: null,
      retryDelaysMs: [1000, 10_000, 100_000],
      timeoutMs: 10_000,
      maxActiveWebhooks: 5,
      logRetentionDays: 14,
      allowHttp: false,
      allowPrivateNetworks: { allowPrivateNetworks: false, allowedCidrs: [] },
      urlPolicy: { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] },
      eventTypesFile: undefined,
      notifyUrl: undefined,
      smtpUrl: undefined,
      worker: true,
      rateLimit: 600,
      demo: false,
      logLevel: "info",
    });
    for (const [key, def] of Object.entries(OPTIONS)) {
      if (key === "publicUrl") continue; // computed from the port
      expect((c as unknown as Record<string, unknown>)[key], key).toEqual(def.default);
    }
  });

  describe.each(Object.entries(CASES) as Array<[Key, (typeof CASES)[Key]]>)("%s", (key, { good, bad }) => {
    const variable = OPTIONS[key].env;
    it.each(good.map(([raw, value]) => [JSON.stringify(raw), raw, value] as const))(`${variable}=%s parses`, (_label, raw, value) => {
      const c = resolveConfig({ [variable]: raw }) as unknown as Record<string, unknown>;
      if (key === "encryptionKey") expect(c[key]).toMatchObject(value as object);
      else expect(c[key]).toEqual(value);
    });
    if (bad.length > 0) {
      it.each(bad.map((raw) => [JSON.stringify(raw).slice(0, 60), raw] as const))(`${variable}=%s throws a ConfigError naming ${variable}`, (_label, raw) => {
        expectConfigError(() => resolveConfig({ [variable]: raw }), variable);
      });
    }
  });

  it("names the examples of the brief", () => {
    expect(expectConfigError(() => resolveConfig({ HOOKLINE_TIMEOUT_MS: "abc" }), "HOOKLINE_TIMEOUT_MS").message).toMatch(/abc/);
    expect(expectConfigError(() => resolveConfig({ HOOKLINE_RETRY_DELAYS: "1,x" }), "HOOKLINE_RETRY_DELAYS").message).toMatch(/1,x/);
    expect(expectConfigError(() => resolveConfig({ PORT: "99999" }), "PORT").message).toMatch(/65535/);
    expect(expectConfigError(() => resolveConfig({ HOOKLINE_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/99" }), "HOOKLINE_ALLOW_PRIVATE_NETWORKS").message).toMatch(
      /10\.0\.0\.0\/99/,
    );
  });

  it("explicit settings (flags, library options) win over the environment, and errors name the flag", () => {
    const c = resolveConfig({ PORT: "1000", DATABASE_URL: "/env.db" }, { port: 2000, databaseUrl: "/flag.db" });
    expect(c.port).toBe(2000);
    expect(c.databaseUrl).toBe("/flag.db");
    expect(c.publicUrl).toBe("http://localhost:2000");
    expectConfigError(() => resolveConfig({}, { port: "abc" }), "--port (PORT)");
    expectConfigError(() => resolveConfig({}, { timeoutMs: "abc" }), "HOOKLINE_TIMEOUT_MS");
    // undefined means "not given": the environment applies.
    expect(resolveConfig({ PORT: "1234" }, { port: undefined }).port).toBe(1234);
  });

  it("derives the dialect and the data directory from DATABASE_URL", () => {
    const at = (url: string) => resolveConfig({ DATABASE_URL: url });
    expect(at("postgres://u@db:5432/hl")).toMatchObject({ dialect: "postgres", dataDir: null });
    expect(at("POSTGRESQL://u@db/hl")).toMatchObject({ dialect: "postgres" });
    expect(at("/srv/hookline/data.db")).toMatchObject({ dialect: "sqlite", dataDir: "/srv/hookline" });
    expect(at("hookline.db")).toMatchObject({ dialect: "sqlite", dataDir: "." });
    expect(at("/hookline.db")).toMatchObject({ dialect: "sqlite", dataDir: "/" });
    expect(at("sqlite://./var/h.db")).toMatchObject({ dialect: "sqlite", dataDir: "./var" });
    expect(at("sqlite:/srv/h.db")).toMatchObject({ dialect: "sqlite", dataDir: "/srv" });
    expect(at(":memory:")).toMatchObject({ dialect: "sqlite", dataDir: "./data" });
  });

  it("names the bad origin of HOOKLINE_FRAME_ANCESTORS; --demo alone lets the example host page frame the portal", () => {
    const err = expectConfigError(
      () => resolveConfig({ HOOKLINE_FRAME_ANCESTORS: "https://ok.example.com https://bad.example.com/path" }),
      "HOOKLINE_FRAME_ANCESTORS",
    );
    expect(err.message).toContain('"https://bad.example.com/path"');
    expect(err.message).not.toContain('"https://ok.example.com"');
    expect(resolveConfig({ HOOKLINE_DEMO: "true" }).frameAncestors).toEqual(DEMO_FRAME_ANCESTORS);
    expect(resolveConfig({ HOOKLINE_DEMO: "true", HOOKLINE_FRAME_ANCESTORS: "https://app.example.com" }).frameAncestors).toEqual(["https://app.example.com"]);
  });

  it("docs/scaling.md's pooler settings: transaction mode, wake-ups over the listen URL, or polling without it", () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../docs/scaling.md"), "utf8");
    const block = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("HOOKLINE_PG_POOLER"));
    const env = Object.fromEntries(
      (block ?? "")
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const c = resolveConfig(env);
    expect(c).toMatchObject({ dialect: "postgres", pgPooler: "transaction", pgListenUrl: "postgres://hookline:secret@db.internal:5432/hookline" });
    expect(listenUrlOf(c)).toBe("postgres://hookline:secret@db.internal:5432/hookline");
    // Without the listen URL behind a transaction pooler: no LISTEN at all (polling); directly: DATABASE_URL.
    expect(listenUrlOf(resolveConfig({ ...env, HOOKLINE_PG_LISTEN_URL: "" }))).toBeUndefined();
    expect(listenUrlOf(resolveConfig({ DATABASE_URL: env.DATABASE_URL }))).toBe(env.DATABASE_URL);
    expect(listenUrlOf(resolveConfig({ DATABASE_URL: "/srv/h.db", HOOKLINE_PG_LISTEN_URL: env.HOOKLINE_PG_LISTEN_URL }))).toBeUndefined();
  });

  it("builds the URL policy from ALLOW_HTTP, ALLOW_PRIVATE_NETWORKS and --demo", () => {
    expect(resolveConfig({ HOOKLINE_ALLOW_HTTP: "true" }).urlPolicy).toEqual({ allowHttp: true, allowPrivateNetworks: false, allowedCidrs: [] });
    expect(resolveConfig({ HOOKLINE_ALLOW_PRIVATE_NETWORKS: "true" }).urlPolicy).toEqual({ allowHttp: false, allowPrivateNetworks: true, allowedCidrs: [] });
    expect(resolveConfig({ HOOKLINE_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/8" }).urlPolicy.allowedCidrs).toEqual(["10.0.0.0/8"]);
    const demo: ResolvedConfig = resolveConfig({ HOOKLINE_DEMO: "true", HOOKLINE_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/8" });
    expect(demo.urlPolicy.allowHttp).toBe(true);
    expect(demo.urlPolicy.allowedCidrs).toEqual(expect.arrayContaining(["10.0.0.0/8", "127.0.0.0/8", "::1/128"]));
    expect(resolveConfig({}, { demo: true }).urlPolicy.allowedCidrs).toEqual(expect.arrayContaining(["127.0.0.0/8"]));
  });

  it("every option is documented once with its variable", () => {
    const vars = Object.values(OPTIONS).map((o) => o.env);
    expect(new Set(vars).size).toBe(vars.length);
    for (const o of Object.values(OPTIONS)) expect(o.doc.length, o.env).toBeGreaterThan(10);
    for (const v of [
      "PORT",
      "DATABASE_URL",
      "HOOKLINE_PUBLIC_URL",
      "HOOKLINE_ADMIN_TOKEN",
      "HOOKLINE_SECRET_KEY",
      "HOOKLINE_RETRY_DELAYS",
      "HOOKLINE_TIMEOUT_MS",
      "HOOKLINE_MAX_ACTIVE_WEBHOOKS",
      "HOOKLINE_LOG_RETENTION_DAYS",
      "HOOKLINE_ALLOW_HTTP",
      "HOOKLINE_ALLOW_PRIVATE_NETWORKS",
      "HOOKLINE_EVENT_TYPES",
      "HOOKLINE_NOTIFY_URL",
      "SMTP_URL",
      "SMTP_FROM",
    ]) {
      expect(vars, v).toContain(v);
    }
  });
});

describe("CLI: a bad value stops the process with a message naming the variable", () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const bin = path.join(root, "bin/hookline.js");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-cli-config-"));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  /** Runs the CLI with only these variables (plus PATH/HOME), so the outer environment cannot leak in. */
  function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [bin, ...args],
        {
          cwd: dataDir,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: dataDir,
            DATABASE_URL: path.join(dataDir, `${args[0]}.db`),
            HOOKLINE_ADMIN_TOKEN: "cli-admin-token-0123456789",
            LOG_LEVEL: "silent",
            ...env,
          },
          encoding: "utf8",
          timeout: 30_000,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
          resolve({ code: err && err.killed ? null : code, out: `${stdout}${stderr}` });
        },
      );
    });
  }

  // Each run is a separate process; they are independent, so they run side by side.
  it.concurrent.each([
    [["serve"], { PORT: "99999" }, "PORT"],
    [["serve"], { HOOKLINE_TIMEOUT_MS: "abc" }, "HOOKLINE_TIMEOUT_MS"],
    [["serve"], { HOOKLINE_RETRY_DELAYS: "1,x" }, "HOOKLINE_RETRY_DELAYS"],
    [["serve"], { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/99" }, "HOOKLINE_ALLOW_PRIVATE_NETWORKS"],
    [["serve"], { HOOKLINE_MAX_ACTIVE_WEBHOOKS: "0" }, "HOOKLINE_MAX_ACTIVE_WEBHOOKS"],
    [["serve"], { HOOKLINE_ALLOW_HTTP: "perhaps" }, "HOOKLINE_ALLOW_HTTP"],
    [["serve"], { HOOKLINE_EVENT_TYPES: "/nonexistent/events.json" }, "HOOKLINE_EVENT_TYPES"],
    [["serve"], { HOOKLINE_FRAME_ANCESTORS: "https://app.example.com/settings" }, "https://app.example.com/settings"],
    [["serve", "--port", "abc"], {}, "--port"],
    [["serve", "--no-worker"], { SMTP_URL: "mail.example.com" }, "SMTP_URL"],
    [["worker"], { HOOKLINE_CONCURRENCY: "0" }, "HOOKLINE_CONCURRENCY"],
    [["migrate"], { DATABASE_URL: "mysql://db/hl" }, "DATABASE_URL"],
  ] as Array<[string[], Record<string, string>, string]>)("hookline %j with %j exits non-zero naming %s", async (args, env, variable) => {
    const { code, out } = await run(args, env);
    expect(code, out).not.toBe(0);
    expect(code, out).not.toBeNull(); // exited by itself, not by the timeout
    expect(out).toContain(variable);
    expect(out).not.toMatch(/\n\s+at .*\(.*\.js:\d+:\d+\)/); // a message, not a stack trace
  });
});
