import { parseArgs } from "node:util";
import { resolveConfig } from "../config.js";
import { openStore } from "../store/db.js";
import { migrate } from "../store/migrations.js";

export async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { "database-url": { type: "string" } }, strict: true });
  const config = resolveConfig(process.env, { databaseUrl: values["database-url"] });
  const store = await openStore({ databaseUrl: config.databaseUrl, pooler: config.pgPooler === "transaction" });
  try {
    const applied = await migrate(store.db);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "The database is up to date.");
    return 0;
  } finally {
    await store.close();
  }
}
