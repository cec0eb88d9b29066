/**
 * How a pooled connection runs Kysely's statements: the one place that decides named or unnamed
 * prepared statements, re-prepares statements the server lost, and scopes the timeouts.
 *
 * Directly connected (or behind a pooler in session mode), the hot path's fixed statements
 * (fixed-statement.ts) run as named prepared statements, parsed and planned once per connection.
 * node-postgres remembers which names it prepared; a server session that lost them (`DEALLOCATE
 * ALL`, `DISCARD ALL`) would answer 26000 "prepared statement … does not exist" to every later
 * use. So a statement on its own that gets 26000 is prepared again and run once more (it did
 * nothing: the error comes before execution), and a transaction's `begin` also asks the server
 * which names it still holds (same round trip), so the statements inside are prepared again
 * rather than aborting the transaction.
 *
 * Behind a pooler in transaction mode (HOOKLINE_PG_POOLER=transaction) consecutive transactions
 * may run on different server sessions, and nothing may outlive a transaction: statements are
 * unnamed, and the lock and statement timeouts are `SET LOCAL` in every transaction (sent with its
 * `begin`); a statement on its own gets a transaction of its own to carry them.
 */
import type pg from "pg";
import { preparedName } from "../fixed-statement.js";

export interface StatementRules {
  /** Behind a pooler in transaction mode: nothing may outlive a transaction. */
  pooler: boolean;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
/** Ends the transaction (`rollback to <savepoint>` does not). */
const END = /^\s*(commit|end|rollback|abort)\s*;?\s*$/i;
const NO_SUCH_STATEMENT = "26000";

type Query = (config: unknown, values?: unknown) => Promise<any>;

/** The named statements node-postgres believes this connection's server session holds. */
function preparedOn(client: pg.PoolClient): Record<string, string> {
  return (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
}

/** Makes `client.query(text, values)` (what Kysely calls) follow the rules above; other call shapes pass through. */
export function applyStatementRules(client: pg.PoolClient, rules: StatementRules): void {
  const query = client.query.bind(client) as (...args: unknown[]) => any;
  const send: Query = (config, values) => query(config, values);
  const settings = [
    rules.lockTimeoutMs > 0 ? `set local lock_timeout = ${rules.lockTimeoutMs}` : "",
    rules.statementTimeoutMs > 0 ? `set local statement_timeout = ${rules.statementTimeoutMs}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  let inTransaction = false;

  /** `text` may carry more statements after its `begin` (`begin; set local …`): one round trip for all; answers the begin's result. */
  async function begin(text: string): Promise<unknown> {
    const first = (results: unknown) => (Array.isArray(results) ? results[0] : results);
    if (rules.pooler) return first(await send(settings ? `${text}; ${settings}` : text));
    const known = Object.keys(preparedOn(client));
    if (known.length === 0) return first(await send(text));
    const results = await send(`${text}; select name from pg_prepared_statements`);
    const held = results.at(-1);
    const live = new Set((held.rows as Array<{ name: string }>).map((r) => r.name));
    for (const name of known) if (!live.has(name)) delete preparedOn(client)[name];
    return results[0];
  }

  async function alone(text: string, values: unknown): Promise<unknown> {
    await send(`begin; ${settings}`);
    try {
      const result = await send(text, values);
      await send("commit");
      return result;
    } catch (err) {
      await send("rollback").catch(() => {});
      throw err;
    }
  }

  async function named(name: string, text: string, values: unknown): Promise<unknown> {
    try {
      return await send({ name, text, values });
    } catch (err) {
      if ((err as { code?: string }).code !== NO_SUCH_STATEMENT) throw err;
      delete preparedOn(client)[name];
      if (inTransaction) throw err; // the transaction is aborted; its next begin prepares afresh
      return send({ name, text, values });
    }
  }

  function run(text: string, values: unknown): Promise<unknown> {
    if (BEGIN.test(text)) return begin(text).then((r) => ((inTransaction = true), r));
    if (END.test(text)) {
      inTransaction = false;
      return send(text, values);
    }
    if (rules.pooler) return inTransaction || !settings ? send(text, values) : alone(text, values);
    const name = preparedName(text);
    return name === undefined ? send(text, values) : named(name, text, values);
  }

  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) =>
    typeof config === "string" && typeof values !== "function" && callback === undefined ? run(config, values) : query(config, values, callback);
}
