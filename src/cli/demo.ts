/**
 * `hookline serve --demo` (`npm start`): project `demo` with two webhooks pointing at an in-process
 * `hookline listen` on a free loopback port, so a new user sees signed deliveries arrive at once.
 * Idempotent across restarts: the webhooks are found by name and re-pointed at the new port.
 */
import { DEMO_FRAME_ANCESTORS } from "../config.js";
import { LimitError, NotFoundError } from "../domain/errors.js";
import { generateSecret } from "../domain/webhook-rules.js";
import type { Runtime } from "../runtime.js";
import { listEventTypes } from "../services/event-types.js";
import { createPortalSession } from "../services/portal-sessions.js";
import { getProject, putProject } from "../services/projects.js";
import { publish } from "../services/publish.js";
import { createWebhook, listWebhooks, revealSecret, updateWebhook } from "../services/webhooks.js";
import { startListener, type Listener } from "./listen.js";

export const DEMO_PROJECT = "demo";

/** The demo webhooks: a name and the event-name prefixes it subscribes to. */
const DEMO_WEBHOOKS = [
  { name: "Slack bridge", prefixes: ["test-run."] },
  { name: "CI trigger", prefixes: ["test-case.", "issue."] },
];

/** Published at start, so the listener shows deliveries straight away. */
const SAMPLE_EVENTS = ["test-run.completed", "issue.created"];

export interface Demo {
  /** Printed in the start banner. */
  lines: string[];
  listener: Listener;
  /** Publishes the sample events (after the banner, so their deliveries print below it). */
  publishSamples(): Promise<void>;
  close(): Promise<void>;
}

export async function runDemo(runtime: Runtime): Promise<Demo> {
  const { ctx, config } = runtime;
  try {
    await getProject(ctx, DEMO_PROJECT);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    // A placeholder address: auto-disable notifications are e-mailed here once SMTP_URL is set.
    await putProject(ctx, DEMO_PROJECT, { name: "Demo project", notification_emails: ["owner@example.com"] });
  }

  const catalog = await listEventTypes(ctx);
  const names = catalog.map((t) => t.name);
  const existing = (await listWebhooks(ctx, DEMO_PROJECT)).data;
  const plan = DEMO_WEBHOOKS.map((def) => {
    const events = names.filter((n) => def.prefixes.some((p) => n.startsWith(p)));
    // An operator catalog without these entity types: subscribe to its first few events instead.
    return { name: def.name, events: events.length ? events : names.slice(0, 3), found: existing.find((w) => w.name === def.name) };
  });

  // The listener verifies with every demo webhook's secret (a user may have changed one in the UI).
  const newSecret = generateSecret();
  const secrets = [newSecret];
  for (const p of plan) {
    if (!p.found) continue;
    const { secret } = await revealSecret(ctx, DEMO_PROJECT, p.found.id);
    if (secret) secrets.push(secret);
  }
  const listener = await startListener({ port: 0, host: "127.0.0.1", secrets, prefix: "[demo listener] " });

  const notes: string[] = [];
  try {
    for (const p of plan) {
      const url = `${listener.url}/${p.name.toLowerCase().replace(/\s+/g, "-")}`;
      if (p.found) {
        const w = p.found;
        await updateWebhook(ctx, DEMO_PROJECT, w.id, {
          url,
          ...(w.has_secret ? {} : { secret: newSecret }),
          // Failures while the demo was stopped disabled it; a user's own "Disable" is kept.
          ...(w.disabled_reason === "failures" ? { enabled: true } : {}),
        }).catch((err: unknown) => {
          if (!(err instanceof LimitError)) throw err;
          notes.push(`"${p.name}" stays disabled: the project already has its maximum of active webhooks.`);
          return updateWebhook(ctx, DEMO_PROJECT, w.id, { url, ...(w.has_secret ? {} : { secret: newSecret }) });
        });
        if (!w.enabled && w.disabled_reason === "manual") notes.push(`"${p.name}" is disabled (you disabled it); enable it in the UI to see its deliveries.`);
      } else {
        const input = { name: p.name, events: p.events, url, secret: newSecret };
        await createWebhook(ctx, DEMO_PROJECT, input).catch((err: unknown) => {
          if (!(err instanceof LimitError)) throw err;
          notes.push(`"${p.name}" was created disabled: the project already has its maximum of active webhooks.`);
          return createWebhook(ctx, DEMO_PROJECT, { ...input, enabled: false });
        });
      }
    }
  } catch (err) {
    await listener.close();
    throw err;
  }

  const portal = await createPortalSession(ctx, runtime.creds.secretKey, DEMO_PROJECT, { role: "admin", ttlSeconds: 24 * 3600 });
  const lines = [
    "⚠  DEMO MODE: webhooks may point at http:// and loopback addresses. Never run --demo in production.",
    // serve prints a freshly generated token itself; a stored or configured one is shown here.
    ...(runtime.creds.generatedAdminToken
      ? []
      : [`Admin token: ${runtime.creds.adminToken ?? "(another node's, generated there: set HOOKLINE_ADMIN_TOKEN to share a known one)"}`]),
    `Web UI: ${config.publicUrl}/  →  demo project: ${config.publicUrl}/projects/${DEMO_PROJECT}/webhooks`,
    `Portal link (project "${DEMO_PROJECT}", admin, 24 h): ${portal.url}`,
    `Demo listener (hookline listen, in this process): ${listener.url}, receiving ${plan.map((p) => `"${p.name}"`).join(" and ")}`,
    ...(config.frameAncestors === DEMO_FRAME_ANCESTORS
      ? [`Embedded in a host page: node examples/embed-host/server.js, then open ${DEMO_FRAME_ANCESTORS[1]}/ (--demo lets it frame the portal)`]
      : []),
    ...notes,
    `Publish more: hookline publish --project ${DEMO_PROJECT} --event test-run.completed --url ${config.publicUrl}`,
  ];

  return {
    lines,
    listener,
    async publishSamples() {
      const examples = new Map(catalog.map((t) => [t.name, t.example]));
      for (const event of SAMPLE_EVENTS.filter((e) => examples.has(e))) {
        const example = examples.get(event);
        const subject = example && typeof example === "object" && !Array.isArray(example) ? example : { example };
        await publish(ctx, DEMO_PROJECT, { event, subject });
      }
    },
    close: () => listener.close(),
  };
}
