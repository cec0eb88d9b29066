/**
 * A Hookline webhook receiver in Fastify 5: verify the signature on the raw body, drop duplicates,
 * answer fast, and do the work afterwards.
 *
 *   npm i fastify hookline
 *   HOOKLINE_WEBHOOK_SECRET=whsec_… PORT=3000 npx tsx server.ts      (or node --experimental-strip-types on Node 22.6+)
 */
import Fastify, { type FastifyInstance } from "fastify";
import { pathToFileURL } from "node:url";
import { verifyWebhook, WebhookVerificationError } from "hookline/verify";

/** The delivery body Hookline sends (docs/receivers.md). */
export interface HooklineEvent {
  id: string;
  event: string;
  created_at: string;
  project_id: string;
  subject: Record<string, unknown>;
}

export interface ReceiverOptions {
  /** The webhook's secret, as entered in Hookline. */
  secret: string;
  /** Your handler. It runs after the answer went out, so a slow handler never causes a retry. */
  onEvent: (event: HooklineEvent, deliveryId: string) => void | Promise<void>;
}

export function createApp({ secret, onEvent }: ReceiverOptions): FastifyInstance {
  const app = Fastify();
  // Hookline delivers at least once: remember recent delivery ids (a database unique key in production).
  const seen = new Set<string>();

  // An encapsulated plugin: only this route reads bodies as raw bytes; the rest of the app keeps
  // Fastify's JSON parsing. The signature covers the exact bytes, so verify before parsing.
  app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

    hooks.post("/webhooks/hookline", async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let event: HooklineEvent;
      try {
        event = verifyWebhook(secret, raw, req.headers) as HooklineEvent;
      } catch (err) {
        if (err instanceof WebhookVerificationError) return reply.status(400).send({ error: err.code, message: err.message });
        throw err;
      }
      const deliveryId = req.headers["webhook-id"] as string; // = Hookline-Delivery, stable across retries
      if (seen.has(deliveryId)) return reply.status(200).send({ duplicate: true });
      seen.add(deliveryId);
      if (seen.size > 10_000) seen.delete(seen.values().next().value!);

      setImmediate(() => {
        Promise.resolve()
          .then(() => onEvent(event, deliveryId))
          .catch((err: unknown) => req.log.error({ err, deliveryId }, "handling the webhook failed"));
      });
      return reply.status(204).send();
    });
  });
  return app;
}

// Run directly: start a server that logs every event.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.HOOKLINE_WEBHOOK_SECRET;
  if (!secret) throw new Error("Set HOOKLINE_WEBHOOK_SECRET to the webhook's secret.");
  const port = Number(process.env.PORT ?? 3000);
  const app = createApp({ secret, onEvent: (e) => console.log(`${e.event} for project ${e.project_id}:`, e.subject) });
  await app.listen({ port, host: "0.0.0.0" });
  console.log(`Receiving Hookline webhooks at http://localhost:${port}/webhooks/hookline`);
}
