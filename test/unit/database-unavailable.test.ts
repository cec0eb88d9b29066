/**
 * Which failures the API answers with 503 `unavailable`: the errors node-postgres and better-sqlite3
 * really raise when the database goes away (messages and codes as seen during PostgreSQL restarts
 * in test/integration/pg-restart.serial.test.ts), and nothing that is the caller's or a bug.
 */
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../src/api/errors.js";

const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe("isDatabaseUnavailable", () => {
  it.each([
    ["server down", err("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["query in flight when the server stops", err("Connection terminated unexpectedly")],
    ["next statement on that client (the ROLLBACK)", err("Client has encountered a connection error and is not queryable")],
    ["admin shutdown", err("terminating connection due to administrator command", "57P01")],
    ["shutting down", err("the database system is shutting down", "57P03")],
    ["starting up", err("the database system is starting up", "57P03")],
    ["pool connect timeout", err("Connection terminated due to connection timeout")],
    ["pool exhausted", err("timeout exceeded when trying to connect")],
    ["too many connections", err("sorry, too many clients already", "53300")],
    ["deadlock", err("deadlock detected", "40P01")],
    ["serialization failure", err("could not serialize access due to concurrent update", "40001")],
    ["SQLite busy", err("database is locked", "SQLITE_BUSY")],
    ["SQLite full", err("database or disk is full", "SQLITE_FULL")],
    ["SQLite read-only", err("attempt to write a readonly database", "SQLITE_READONLY")],
    ["PostgreSQL read-only (failed-over old primary)", err("cannot execute INSERT in a read-only transaction", "25006")],
  ])("%s → 503", (_, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true);
  });

  it.each([
    ["a constraint violation", err('duplicate key value violates unique constraint "webhooks_pkey"', "23505")],
    ["bad SQL (a bug)", err('syntax error at or near "selec"', "42601")],
    ["invalid input", err('invalid byte sequence for encoding "UTF8": 0x00', "22021")],
    ["a plain error", new Error("boom")],
    ["not an error", undefined],
  ])("%s → not 503", (_, e) => {
    expect(isDatabaseUnavailable(e)).toBe(false);
  });
});
