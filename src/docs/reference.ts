/**
 * The generated reference pages: docs/configuration.md from the OPTIONS table and
 * docs/event-catalog.md from DEFAULT_CATALOG. test/unit/docs-sync.test.ts fails when a committed
 * page differs from what these return (UPDATE_DOCS=1 rewrites them), so the docs cannot drift.
 */
import { OPTIONS } from "../config.js";
import { DEFAULT_CATALOG, TEST_EVENT, type EventType } from "../domain/catalog.js";

const GENERATED = (source: string) =>
  `<!-- Generated from ${source} by src/docs/reference.ts. Do not edit: change the source, then run\n     UPDATE_DOCS=1 npx vitest run test/unit/docs-sync.test.ts -->`;

/** Table cells cannot hold raw pipes or line breaks. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function defaultText(def: { default: unknown; defaultText?: string }): string {
  // A value ("1,10,100") reads as code; a sentence ("generated into …") as prose.
  if (def.defaultText !== undefined) return /\s/.test(def.defaultText) ? def.defaultText : `\`${def.defaultText}\``;
  if (def.default === undefined || def.default === null) return "unset";
  return `\`${Array.isArray(def.default) ? def.default.join(",") : String(def.default)}\``;
}

export function configurationDoc(): string {
  const rows = Object.entries(OPTIONS).map(([key, raw]) => {
    const def = raw as { env: string; flag?: string; default: unknown; defaultText?: string; doc: string };
    const flag = def.flag ? `\`${def.flag}\`` : "";
    return `| \`${def.env}\` | ${flag} | \`${key}\` | ${cell(defaultText(def))} | ${cell(def.doc)} |`;
  });
  return `${GENERATED("src/config.ts (OPTIONS)")}

# Configuration

Every option is read from an environment variable; the ones with a flag can also be given on the
command line, and a flag wins over its variable. A bad value stops the process at start with a message
naming the variable, e.g. \`HOOKLINE_TIMEOUT_MS: must be from 100 to 600000, got 5\`.

The embedded library takes the same options by their key: \`createHookline({ databaseUrl, timeoutMs })\`.
Two take a typed value there: \`retryDelaysMs\` is a list of milliseconds (\`[1000, 10000, 100000]\`), and
\`allowPrivateNetworks\` is \`true\` or a list of CIDRs. The library reads environment variables only when
given \`env: process.env\`, so it never picks up a host app's own \`DATABASE_URL\` or \`PORT\`.

| variable | flag | library key | default | meaning |
|---|---|---|---|---|
${rows.join("\n")}

Extra trusted certificate authorities for deliveries come from Node's standard \`NODE_EXTRA_CA_CERTS\`
(a PEM file). \`hookline worker\` reads the same variables; \`--concurrency\` and \`--database-url\` are its flags.
`;
}

/** Consecutive entries with the same prefix (`test-run.…`) form one section. */
function groups(catalog: EventType[]): Array<{ entity: string; types: EventType[] }> {
  const out: Array<{ entity: string; types: EventType[] }> = [];
  for (const t of catalog) {
    const entity = t.name.slice(0, t.name.lastIndexOf("."));
    const last = out[out.length - 1];
    if (last && last.entity === entity) last.types.push(t);
    else out.push({ entity, types: [t] });
  }
  return out;
}

const json = (value: unknown) => "```json\n" + JSON.stringify(value, null, 2) + "\n```";

export function eventCatalogDoc(catalog: EventType[] = DEFAULT_CATALOG): string {
  const sections = groups(catalog).map(({ entity, types }) => {
    const table = ["| event | when |", "|---|---|", ...types.map((t) => `| \`${t.name}\` | ${cell(t.description)} |`)].join("\n");
    const examples = types.map((t) => JSON.stringify(t.example));
    const shared = examples.every((e) => e === examples[0]);
    const body = shared
      ? `Example subject (the same shape for each of these events):\n\n${json(types[0].example)}`
      : types.map((t) => `Example subject of \`${t.name}\`:\n\n${json(t.example)}`).join("\n\n");
    const schemas = types.map((t) => JSON.stringify(t.schema));
    const schema = types[0].schema === null ? "" : schemas.every((x) => x === schemas[0])
      ? `\n\nSchema of the subject (JSON Schema 2020-12, the same for each of these events):\n\n${json(types[0].schema)}`
      : types.map((t) => `\n\nSchema of the subject of \`${t.name}\`:\n\n${json(t.schema)}`).join("");
    return `## ${entity}\n\n${table}\n\n${body}${schema}`;
  });
  return `${GENERATED("src/domain/catalog.ts (DEFAULT_CATALOG)")}

# Event catalog

The events a webhook can subscribe to, as shipped for a test-management product. The host app
publishes them (\`POST /api/v1/projects/{id}/events\` or \`hookline.publish()\`); the \`subject\` is
whatever record the event is about, as published — the examples below show the shapes the catalog
documents, and \`GET /api/v1/event-types\` returns them too.

\`${TEST_EVENT}\` is reserved: it is sent only by a webhook's Test action, with the subject
\`{ "webhook_id": "wh_…", "message": "This is a test event from Hookline." }\`, and cannot be
subscribed to or published.

**Your own catalog.** Set \`HOOKLINE_EVENT_TYPES=path/to/events.json\`: a JSON array of
\`{ "name", "description", "example", "schema" }\` is used instead of this catalog on a new database;
\`{ "extends": "default", "event_types": [ … ] }\` adds to it (or overrides entries by name). Names are
dotted lowercase (\`invoice.paid\`). The admin API (\`PUT /api/v1/event-types/{name}\`) and
\`hookline.eventTypes.put()\` add or change entries at run time.

**Schemas.** An event type may carry \`schema\`, a JSON Schema (draft 2020-12) of its subject: in the
file, or with \`PUT /api/v1/event-types/{name}\` \`{ "description", "example", "schema" }\` (a schema
that is not valid JSON Schema is refused with \`422\`; \`"schema": null\` removes it). A published
subject that does not match is refused with \`422 validation_failed\`, one detail per mismatch
(\`"field": "subject.totals.passed"\`). \`format\` is an annotation, not checked. The default types'
schemas below describe their fields' types; none is required and more are allowed.

**Types for receivers.** \`/api/openapi.json\` (OpenAPI 3.1) has a \`webhooks\` entry per event type:
the delivery body with the subject's schema (or the example's shape), the example and the delivery
headers. \`npx openapi-typescript http://localhost:8080/api/openapi.json -o hookline.d.ts\` turns it
into types: \`webhooks["test-run.completed"]["post"]["requestBody"]["content"]["application/json"]\`.

**One catalog for the cluster.** The catalog is stored once, in the database. A node started with
\`HOOKLINE_EVENT_TYPES\` adds the types its file lists and updates them, but never removes a type:
nodes started with different files end up with the union, and types added through the admin API
stay. A node without a file writes the default catalog only into an empty database.

${sections.join("\n\n")}
`;
}
