/**
 * `log_scale`: does the delivery log stay fast as it grows? A database holding 1,000,000 log entries
 * (5 webhooks, spread evenly over 14 days), then:
 *   - `log_page_p99_ms`: p99 of the log list API — the first page, a filtered page (success=false),
 *     and the 24 h stats — sequential requests rotating over the 5 webhooks (the worst of the three;
 *     each is reported too);
 *   - `bytes_per_entry`: the database's size over the number of log entries;
 *   - `purge_rows_per_s`, mode "half" (SQLite's default; BENCH_LOG_EXPIRE=half): with
 *     HOOKLINE_LOG_RETENTION_DAYS=7 half the entries (500,000) are expired; a fresh `serve` purges
 *     them (its worker does so at start) while 32 clients keep publishing, and
 *     `throughput_during_purge_ratio` is the deliveries/s during the purge over the deliveries/s of
 *     the same publishing right after it;
 *   - mode "day" (PostgreSQL's default; BENCH_LOG_EXPIRE=day): the steady state of an installation
 *     whose purge runs every hour. The log spans the UTC days from 13 days ago to now, minus the rows
 *     of the oldest day kept that the previous hourly passes would already have deleted, so that
 *     with retention 12 days one whole day (about 1/13.5 of the entries) and the last hour's
 *     boundary rows (plus the minutes the bench took since seeding) are expired. One purge pass
 *     (the build's own code, in this process) runs while a warmed-up `serve` (retention 30: its own
 *     pass has nothing to do) delivers what 32 clients publish; `purge_seconds` is that pass,
 *     `purge_drop_seconds` its first step (dropping the whole expired days, when the build
 *     partitions the log), `throughput_during_purge_ratio` the deliveries/s of a window holding the
 *     pass (at least 5 s) over the mean of the 5 s windows just before and after.
 * PostgreSQL: the partitions of the seeded days are made before seeding (as the passes of those
 * days would have made them; builds without a partitioned log make none), and the log's BRIN ranges
 * are summarized after it (as autovacuum and those passes would have: seedLogEntries).
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { ulid } from "ulid";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROLLUPS_FROM_LOG } from "../dist/store/log-rollups.js";
import { WEBHOOKS, hookUrls, publishMany, setupProject, startHookline } from "./scenarios.js";
import { nowNs, percentile, seconds, sleep } from "./support.js";

const DAY = 24 * 3600 * 1000;

/**
 * Fills log_entries up to `count` rows by copying the real entries already there (so every column,
 * request and response has the shape the running version writes), each copy with a new time-sorted
 * id and a created_at spread evenly over the last `days` days; one in 20 copies is a failed attempt
 * (HTTP 500). Columns are read from the table, so added columns are copied too; a schema that renames
 * id, created_at, success, status_code or error needs this function changed, and nothing else.
 * The hourly rollups (when the schema has them) are then counted again from the whole log, as
 * migration 0011 counts them, so the stats read what they would after that many real attempts.
 */
export async function seedLogEntries(dialect, url, count, days, { start, skip } = {}) {
  const now = Date.now();
  // The entries' times: evenly over [from, now) (by default the last `days` days), none in `skip`.
  const from = start ?? now - days * DAY;
  const kept = skip ? now - from - (skip.to - skip.from) : now - from;
  const timeOf = (k) => {
    const t = from + Math.floor(((k + 0.5) / count) * kept);
    return skip && t >= skip.from ? t + (skip.to - skip.from) : t;
  };
  const CHUNK = 10_000;
  const chunks = function* (existing) {
    for (let done = existing; done < count; done += CHUNK) {
      const n = Math.min(CHUNK, count - done);
      const ids = [],
        at = [],
        ok = [];
      for (let i = 0; i < n; i++) {
        const t = timeOf(count - 1 - (done + i)); // newest first, as before
        ids.push(`log_${ulid(t).toLowerCase()}`);
        at.push(t);
        ok.push(Math.random() < 0.05 ? 0 : 1);
      }
      yield { ids, at, ok };
    }
  };
  const pick = (col, u) =>
    ({
      id: `${u}.id`,
      created_at: `${u}.created_at`,
      success: `case when ${u}.ok = 1 then t.success else 0 end`,
      status_code: `case when ${u}.ok = 1 then t.status_code else 500 end`,
      error: `case when ${u}.ok = 1 then t.error else 'HTTP 500' end`,
    })[col] ?? `t.${col}`;

  if (dialect === "sqlite") {
    const db = new Database(url);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = OFF");
      const cols = db
        .prepare("select name from pragma_table_info('log_entries')")
        .all()
        .map((r) => r.name);
      db.exec("create temp table tmpl as select * from log_entries order by id");
      const templates = db.prepare("select count(*) as n from tmpl").get().n;
      const existing = db.prepare("select count(*) as n from log_entries").get().n;
      const insert = db.prepare(
        `insert into log_entries (${cols.join(", ")}) select ${cols.map((c) => pick(c, "u")).join(", ")} from tmpl t, (select ? as id, ? as created_at, ? as ok) u where t.rowid = ?`,
      );
      let k = 0;
      const run = db.transaction((c) => {
        for (let i = 0; i < c.ids.length; i++) insert.run(c.ids[i], c.at[i], c.ok[i], (k++ % templates) + 1);
      });
      for (const c of chunks(existing)) run(c);
      if (db.prepare("select 1 from sqlite_master where name = 'log_hourly_rollups'").get())
        db.transaction(() => db.exec(`delete from log_hourly_rollups; insert into log_hourly_rollups ${ROLLUPS_FROM_LOG}`))();
      db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    return;
  }
  if (dialect === "postgres") await makeDayPartitions(url, from, now);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const cols = (
      await client.query("select column_name as c from information_schema.columns where table_name = 'log_entries' order by ordinal_position")
    ).rows.map((r) => r.c);
    await client.query("create temp table tmpl as select row_number() over (order by id) - 1 as n, * from log_entries");
    const templates = Number((await client.query("select count(*) as n from tmpl")).rows[0].n);
    const existing = Number((await client.query("select count(*) as n from log_entries")).rows[0].n);
    const sql = `insert into log_entries (${cols.join(", ")}) select ${cols.map((c) => pick(c, "u")).join(", ")}
      from unnest($1::text[], $2::bigint[], $3::int[]) with ordinality as u(id, created_at, ok, i) join tmpl t on t.n = (u.i + $4::bigint) % ${templates}`;
    let k = 0;
    for (const c of chunks(existing)) {
      await client.query(sql, [c.ids, c.at, c.ok, k]);
      k += c.ids.length;
    }
    if ((await client.query("select to_regclass('log_hourly_rollups') as t")).rows[0].t)
      await client.query(`begin; delete from log_hourly_rollups; insert into log_hourly_rollups ${ROLLUPS_FROM_LOG}; commit`);
    // Block ranges of the log's BRIN (migration 0013) filled by this seeding are summarized here, as
    // in service: there autovacuum summarizes each range once filled (autosummarize) and every hourly
    // pass the boundary day's rest. Seeding a million rows in a minute overflows autovacuum's queue
    // of such requests (the server logs "request for BRIN range summarization … was not recorded",
    // about 65 per day partition at 1,000,000 entries), which left the ranges for the measured pass.
    const brins = await client.query(
      `select i.indexrelid::regclass::text as name from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am a on a.oid = c.relam
        where a.amname = 'brin' and i.indrelid in (select inhrelid from pg_inherits where inhparent = to_regclass('log_entries'))`,
    );
    for (const { name } of brins.rows) await client.query("select brin_summarize_new_values($1::regclass)", [name]);
    await client.query("analyze log_entries");
  } finally {
    await client.end();
  }
}

/** The build's own module (BENCH_HOOKLINE_BIN's dist when set, else this checkout's), or null when it has none. */
async function buildModule(rel) {
  const bin = process.env.BENCH_HOOKLINE_BIN;
  const file = bin ? path.join(path.dirname(bin), "..", "dist", rel) : new URL(`../dist/${rel}`, import.meta.url).pathname;
  return fs.existsSync(file) ? import(pathToFileURL(file).href) : null;
}

/** PostgreSQL: the day partitions from `from` to `to` (and 3 days on), when the build partitions the log. */
async function makeDayPartitions(url, from, to) {
  const parts = await buildModule("store/postgres/log-partitions.js");
  if (!parts) return;
  const { MIGRATION_LOCK_KEY } = await buildModule("store/migrations.js");
  await withStore(url, async (db) => {
    for (let t = from; t < to + DAY; t += 3 * DAY) await parts.ensureLogPartitions(db, t, MIGRATION_LOCK_KEY);
  });
}

async function withStore(url, fn) {
  const { openStore } = await buildModule("store/db.js");
  const store = await openStore({ databaseUrl: url, poolSize: 2 });
  try {
    return await fn(store.db);
  } finally {
    await store.close();
  }
}

async function databaseBytes(dialect, url, count) {
  if (dialect === "sqlite") {
    const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    return { bytes: size(url) + size(`${url}-wal`), entries: count };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const bytes = Number((await client.query("select pg_database_size(current_database()) as b")).rows[0].b);
    return { bytes, entries: count };
  } finally {
    await client.end();
  }
}

/** Times `n` sequential GETs of each path kind, rotating over the webhooks; answers p50/p99 per kind. */
async function pageLatencies(api, project, hookIds, n) {
  const kinds = {
    first_page: (id) => `/api/v1/projects/${project}/webhooks/${id}/logs?limit=20`,
    failed_page: (id) => `/api/v1/projects/${project}/webhooks/${id}/logs?limit=20&success=false`,
    stats_24h: (id) => `/api/v1/projects/${project}/webhooks/${id}/stats`,
  };
  const out = {};
  for (const [kind, path] of Object.entries(kinds)) {
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowNs();
      const res = await api.call("GET", path(hookIds[i % hookIds.length]));
      if (res.status !== 200) throw new Error(`GET ${kind}: ${res.status} ${JSON.stringify(res.body)}`);
      if (kind !== "stats_24h" && res.body.data.length === 0) throw new Error(`GET ${kind}: empty page`);
      ms.push(seconds(t0, nowNs()) * 1000);
    }
    ms.sort((a, b) => a - b);
    out[kind] = { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
  }
  return out;
}

/** Publishes in rounds of 200 events until `stop()` says so. */
function publishUntil(api, project) {
  let stopping = false;
  const done = (async () => {
    while (!stopping) await publishMany(api, project, 200);
  })();
  return async () => {
    stopping = true;
    await done;
  };
}

/** The time (ms since the epoch) of the first log line matching `re` in `file`, waiting up to `timeoutMs`. */
async function logLineTime(file, re, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .find((l) => re.test(l));
    if (line) return JSON.parse(line);
    if (Date.now() > deadline) throw new Error(`no log line ${re} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const startOfDay = (ms) => ms - (ms % DAY);

/** Receiver deliveries per second over `ms` from now. */
async function rateOver(receiver, ms) {
  const before = (await receiver.stats()).unique;
  const t0 = Date.now();
  await sleep(ms);
  return ((await receiver.stats()).unique - before) / ((Date.now() - t0) / 1000);
}

export async function logScale(dialect, receiver, { entries = 1_000_000, days = 14, pageRequests = 200, templateEvents = 400 } = {}) {
  const expire = process.env.BENCH_LOG_EXPIRE ?? (dialect === "postgres" ? "day" : "half");
  const project = "logs";
  // 1. Real deliveries, whose log entries are the templates.
  const keep = { HOOKLINE_LOG_RETENTION_DAYS: "30" };
  const first = await startHookline(dialect, receiver, { label: "logscale", env: keep });
  let hookIds;
  try {
    await setupProject(first.api, project, hookUrls(receiver, WEBHOOKS));
    const list = await first.api.call("GET", `/api/v1/projects/${project}/webhooks`);
    hookIds = (list.body.data ?? list.body).map((w) => w.id);
    await receiver.reset();
    await publishMany(first.api, project, templateEvents);
    await receiver.waitFor(templateEvents * WEBHOOKS, 120_000);
    for (const deadline = Date.now() + 30_000; (await first.db.count("log_entries")) < templateEvents * WEBHOOKS;) {
      if (Date.now() > deadline) throw new Error("template attempts were not all logged");
      await sleep(100);
    }
  } finally {
    await first.stop();
  }
  const { db, workDir } = first;
  try {
    // 2. The seeded log.
    const t0 = Date.now();
    // "day": the UTC days from `days - 1` days ago to now; with retention `days - 2` the oldest is wholly expired and the next
    // holds the cutoff, its rows before the cutoff's last hour gone already (the earlier hourly passes).
    const now = Date.now();
    const gap = { from: startOfDay(now) - (days - 2) * DAY, to: now - (days - 2) * DAY - 3600_000 };
    const layout = expire === "day" ? { start: startOfDay(now) - (days - 1) * DAY, skip: gap.to > gap.from ? gap : undefined } : {};
    await seedLogEntries(dialect, db.url, entries, days, layout);
    const seedS = (Date.now() - t0) / 1000;
    const stored = await db.count("log_entries");
    const size = await databaseBytes(dialect, db.url, stored);

    // 3. The log API over it (nothing expires yet).
    const reader = await startHookline(dialect, receiver, { label: "logscale-read", env: keep, db, workDir });
    let pages;
    try {
      pages = await pageLatencies(reader.api, project, hookIds, pageRequests);
    } finally {
      await reader.stop();
    }

    /** What both expiry modes report: the seeded log, its pages, and the purge's rows and time. */
    const figures = (purge) => ({
      expire,
      entries: stored,
      seed_seconds: seedS,
      bytes_per_entry: size.bytes / size.entries,
      pages,
      log_page_p99_ms: Math.max(...Object.values(pages).map((p) => p.p99)),
      purge_rows: purge.rows,
      purge_seconds: purge.seconds,
      purge_rows_per_s: purge.rows / purge.seconds,
    });

    // 4 ("day"). One purge pass of retention `days - 2` beside a warmed-up node delivering.
    if (expire === "day") {
      const node = await startHookline(dialect, receiver, { label: "logscale-day", env: keep, db, workDir });
      try {
        await receiver.reset();
        const stop = publishUntil(node.api, project);
        let before, during, after, purge;
        try {
          await sleep(3000);
          before = await rateOver(receiver, 5000);
          const { purgeOld } = await buildModule("store/queue/purge.js");
          const atStart = (await receiver.stats()).unique;
          const tw = Date.now();
          const parts = await buildModule("store/postgres/log-partitions.js");
          const { MIGRATION_LOCK_KEY } = await buildModule("store/migrations.js");
          purge = await withStore(db.url, async (store) => {
            // The pass's first step (the whole days) timed on its own, then the pass (the boundary rows in paced batches, and the rest).
            const now = Date.now();
            const tp = Date.now();
            const dropped = parts ? await parts.dropExpiredLogPartitions(store, now - (days - 2) * DAY, MIGRATION_LOCK_KEY) : 0;
            const dropS = (Date.now() - tp) / 1000;
            const steps = { drop_partitions_first: Date.now() - tp };
            const onStep = (step, ms) => (steps[step] = (steps[step] ?? 0) + ms);
            const r = await purgeOld(store, { now, logRetentionDays: days - 2, onStep });
            return {
              seconds: (Date.now() - tp) / 1000,
              rows: dropped + r.logEntries,
              dropSeconds: dropS,
              dropRows: dropped,
              steps,
              boundaryRows: r.logEntries,
            };
          });
          await sleep(Math.max(0, 5000 - (Date.now() - tw)));
          during = ((await receiver.stats()).unique - atStart) / ((Date.now() - tw) / 1000);
          after = await rateOver(receiver, 5000);
        } finally {
          await stop();
        }
        const normal = (before + after) / 2;
        // bench/run.js reports chosen fields only: the pass's steps go to stderr.
        if (purge.steps) console.error(`log_scale purge steps (ms): ${JSON.stringify({ boundary_rows: purge.boundaryRows, ...purge.steps })}`);
        return {
          ...figures(purge),
          purge_drop_rows: purge.dropRows,
          purge_drop_seconds: purge.dropSeconds,
          purge_boundary_rows: purge.boundaryRows,
          purge_steps_ms: purge.steps,
          dps_before_purge: before,
          dps_during_purge: during,
          dps_after_purge: after,
          throughput_during_purge_ratio: during / normal,
        };
      } finally {
        await node.stop();
      }
    }

    // 4 ("half"). Retention 7 days: the new node's worker purges the older half at start, while publishing goes on.
    const purger = await startHookline(dialect, receiver, {
      label: "logscale-purge",
      env: { HOOKLINE_LOG_RETENTION_DAYS: "7", LOG_LEVEL: "info" },
      db,
      workDir,
    });
    try {
      await receiver.reset();
      const stop = publishUntil(purger.api, project);
      let purge, started, during, normal;
      try {
        started = (await logLineTime(purger.serve.logFile, /"msg":"hookline is listening"/, 10_000)).time;
        const line = await logLineTime(purger.serve.logFile, /"msg":"retention purge"/, 900_000);
        const atEnd = (await receiver.stats()).unique;
        purge = { seconds: (line.time - started) / 1000, rows: line.purged.logEntries };
        during = atEnd / ((Date.now() - started) / 1000);
        // The same publishing once the purge is over, for as long (5–20 s).
        const windowS = Math.min(20, Math.max(5, purge.seconds));
        const before = (await receiver.stats()).unique;
        const tw = Date.now();
        await sleep(windowS * 1000);
        normal = ((await receiver.stats()).unique - before) / ((Date.now() - tw) / 1000);
      } finally {
        await stop();
      }
      return {
        ...figures(purge),
        dps_during_purge: during,
        dps_after_purge: normal,
        throughput_during_purge_ratio: during / normal,
      };
    } finally {
      await purger.stop();
    }
  } finally {
    await first.drop();
  }
}
