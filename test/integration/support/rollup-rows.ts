import { sql, type Kysely } from "kysely";
import { ROLLUPS_FROM_LOG } from "../../../src/store/log-rollups.js";

export type RollupRow = { webhook_id: string; hour_start: number; duration_ms: number; succeeded: number; failed: number };

const key = (r: RollupRow) => `${r.webhook_id} ${r.hour_start} ${r.duration_ms}`;

/** Rows with numbers as numbers (PostgreSQL's bigint counts come back as strings), in one order. */
const normal = (rows: RollupRow[]) =>
  rows
    .map((r) => ({ ...r, hour_start: Number(r.hour_start), succeeded: Number(r.succeeded), failed: Number(r.failed) }))
    .sort((a, b) => (key(a) < key(b) ? -1 : 1));

/** The hourly rollups as stored. */
export const rollupsInTable = async (db: Kysely<any>) => normal((await db.selectFrom("log_hourly_rollups").selectAll().execute()) as RollupRow[]);

/** The hourly rollups as counting the log gives them (ROLLUPS_FROM_LOG). */
export const rollupsCountedFromLog = async (db: Kysely<any>) => normal((await sql<RollupRow>`${sql.raw(ROLLUPS_FROM_LOG)}`.execute(db)).rows);
