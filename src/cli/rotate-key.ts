/**
 * `hookline rotate-key`: re-seals every webhook secret, and on PostgreSQL the cluster's generated
 * secret key, with the first key of HOOKLINE_ENCRYPTION_KEY.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { Runtime } from "../runtime.js";
import { resealClusterSecretKey } from "../services/cluster-credentials.js";
import { rotateSecrets } from "../services/secrets.js";

export async function rotateKeyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { "database-url": { type: "string" } }, strict: true });
  const runtime = await Runtime.start({ config: { databaseUrl: values["database-url"] }, logger: pino({ level: "warn" }) });
  try {
    const { resealed, total } = await rotateSecrets(runtime.ctx);
    console.log(`Re-sealed ${resealed} of ${total} webhook secrets with key "${runtime.config.encryptionKey!.currentId}".`);
    // Only a PostgreSQL cluster keeps a generated secret key in the database; on SQLite this finds none.
    if (await resealClusterSecretKey(runtime.ctx)) {
      console.log("Re-sealed the cluster's generated secret key (HOOKLINE_SECRET_KEY unset) too.");
    }
    return 0;
  } catch (err) {
    console.error(`hookline rotate-key: ${(err as Error).message}`);
    return 1;
  } finally {
    await runtime.close();
  }
}
