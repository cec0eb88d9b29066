/** The `hookline` command: parses arguments, then runs one subcommand. */
import { ConfigError } from "../config.js";
import { HOOKLINE_VERSION } from "../version.js";
import { migrateCommand } from "./migrate.js";
import { serveCommand, workerCommand } from "./serve.js";
import { tokenCommand } from "./token.js";

export const USAGE = `hookline ${HOOKLINE_VERSION} — project webhooks

Usage:
  hookline serve  [--port 8080] [--database-url URL] [--no-worker] [--demo]
  hookline worker [--database-url URL] [--concurrency N] [--metrics-port 9464]
  hookline migrate [--database-url URL]
  hookline listen [--port 9000] [--secret S]… [--status N] [--https] [--forward-to URL]
  hookline token --project ID [--role admin|viewer] [--ttl 3600] [--url https://hooks.example.com]
  hookline rotate-key [--database-url URL]
  hookline publish --project ID --event NAME [--subject JSON] [--url http://localhost:8080] [--token T]
                   [--idempotency-key K] [--source import]

Every flag also reads its environment variable (PORT, DATABASE_URL, …); see README.md.`;

export async function main(argv: string[]): Promise<number | void> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "serve":
        return await serveCommand(args);
      case "worker":
        return await workerCommand(args);
      case "migrate":
        return await migrateCommand(args);
      case "token":
        return await tokenCommand(args);
      case "listen":
        return await (await import("./listen.js")).listenCommand(args);
      case "rotate-key":
        return await (await import("./rotate-key.js")).rotateKeyCommand(args);
      case "publish":
        return await (await import("./publish.js")).publishCommand(args);
      case "--version":
      case "-v":
        console.log(HOOKLINE_VERSION);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 1 : 0;
      default:
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 1;
    }
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`hookline ${command}: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
