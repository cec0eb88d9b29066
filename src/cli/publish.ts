/**
 * `hookline publish --project ID --event NAME [--subject JSON]`: publishes one event through the
 * HTTP API of a running Hookline and prints its answer. Without --subject it sends the catalog's
 * example subject for that event.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "../config.js";

interface ApiAnswer {
  status: number;
  body: unknown;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** --token, else HOOKLINE_ADMIN_TOKEN, else the admin-token file `hookline serve` generated. */
function adminToken(given: string | undefined, databaseUrl: string | undefined): string {
  if (given) return given;
  const config = resolveConfig(process.env, { databaseUrl });
  if (config.adminToken) return config.adminToken;
  if (config.dataDir === null) {
    throw new CliError(
      "no admin token: pass --token or set HOOKLINE_ADMIN_TOKEN (on PostgreSQL the generated token is kept only as a hash in the database)",
      2,
    );
  }
  const file = path.join(config.dataDir, "admin-token");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    throw new CliError(`no admin token: pass --token, set HOOKLINE_ADMIN_TOKEN, or run where ${file} exists (written by \`hookline serve\`)`, 2);
  }
}

async function call(base: string, token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  let res: Response;
  try {
    res = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach Hookline at ${base} (${cause}). Is \`hookline serve\` running there? Pass --url to point elsewhere.`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: show the text */
  }
  return { status: res.status, body: parsed };
}

function failure(answer: ApiAnswer): CliError {
  const err = (answer.body as { error?: { code?: string; message?: string; details?: Array<{ field: string; message: string }> } } | null)?.error;
  if (!err) return new CliError(`HTTP ${answer.status}: ${JSON.stringify(answer.body)}`);
  const details = (err.details ?? []).map((d) => `\n  ${d.field}: ${d.message}`).join("");
  return new CliError(`${answer.status} ${err.code}: ${err.message}${details}`);
}

async function exampleSubject(base: string, token: string, event: string): Promise<unknown> {
  const answer = await call(base, token, "GET", "/api/v1/event-types");
  if (answer.status !== 200) throw failure(answer);
  const type = (answer.body as { data: Array<{ name: string; example: unknown }> }).data.find((t) => t.name === event);
  // An unknown event: let the publish call answer with the catalog error.
  return type?.example && typeof type.example === "object" ? type.example : {};
}

export async function publishCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      project: { type: "string" },
      event: { type: "string" },
      subject: { type: "string" },
      source: { type: "string" },
      "idempotency-key": { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      "database-url": { type: "string" },
    },
    strict: true,
  });
  try {
    if (!values.project || !values.event) throw new CliError("--project ID and --event NAME are required", 2);
    if (values.source !== undefined && values.source !== "app" && values.source !== "import") throw new CliError('--source must be "app" or "import"', 2);
    let subject: unknown;
    if (values.subject !== undefined) {
      try {
        subject = JSON.parse(values.subject);
      } catch (err) {
        throw new CliError(`--subject must be JSON, e.g. '{"id":"TR-7"}' (${(err as Error).message})`, 2);
      }
    }
    const base = (values.url ?? process.env.HOOKLINE_PUBLIC_URL ?? `http://localhost:${process.env.PORT || 8080}`).replace(/\/+$/, "");
    const token = adminToken(values.token, values["database-url"]);
    if (subject === undefined) {
      subject = await exampleSubject(base, token, values.event);
      console.error(`(no --subject: sending the catalog's example subject for ${values.event})`);
    }
    const answer = await call(
      base,
      token,
      "POST",
      `/api/v1/projects/${encodeURIComponent(values.project)}/events`,
      { event: values.event, subject, ...(values.source ? { source: values.source } : {}) },
      values["idempotency-key"] ? { "idempotency-key": values["idempotency-key"] } : {},
    );
    if (answer.status < 200 || answer.status > 299) throw failure(answer);
    console.log(JSON.stringify(answer.body, null, 2));
    return 0;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(`hookline publish: ${err.message}`);
    return err.exitCode;
  }
}
