/**
 * A Hookline webhook receiver in Express 4: verify the signature on the raw body, drop duplicates,
 * answer fast, and do the work afterwards.
 *
 *   npm i express hookline
 *   HOOKLINE_WEBHOOK_SECRET=whsec_… PORT=3000 npx tsx server.ts      (or node --experimental-strip-types on Node 22.6+)
 */
import express, { type Express } from "express";
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

export function createApp({ secret, onEvent }: ReceiverOptions): Express {
  const app = express();
  // Hookline delivers at least once: remember recent delivery ids (a database unique key in production).
  const seen = new Set<string>();

  // express.raw, not express.json: the signature covers the exact bytes, so verify before parsing.
  app.post("/webhooks/hookline", express.raw({ type: "*/*", limit: "1mb" }), (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let event: HooklineEvent;
    try {
      event = verifyWebhook(secret, raw, req.headers) as HooklineEvent;
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        res.status(400).json({ error: err.code, message: err.message });
        return;
      }
      throw err;
    }
    const deliveryId = req.header("webhook-id")!; // = Hookline-Delivery, stable across retries
    if (seen.has(deliveryId)) {
      res.status(200).json({ duplicate: true });
      return;
    }
    seen.add(deliveryId);
    if (seen.size > 10_000) seen.delete(seen.values().next().value!);

    res.status(204).end();
    Promise.resolve()
      .then(() => onEvent(event, deliveryId))
      .catch((err: unknown) => console.error(`handling ${deliveryId} failed:`, err));
  });
  return app;
}

// Run directly: start a server that logs every event.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.HOOKLINE_WEBHOOK_SECRET;
  if (!secret) throw new Error("Set HOOKLINE_WEBHOOK_SECRET to the webhook's secret.");
  const port = Number(process.env.PORT ?? 3000);
  createApp({ secret, onEvent: (e) => console.log(`${e.event} for project ${e.project_id}:`, e.subject) }).listen(port, () =>
    console.log(`Receiving Hookline webhooks at http://localhost:${port}/webhooks/hookline`),
  );
}
