/**
 * The notification outbox: a notification row is written in the same transaction that disables the
 * webhook, with its e-mail and operator callback marked pending; this loop sends them and retries
 * failures with backoff, so a crash between the two never loses the message.
 *
 * It is not a delivery queue entry on purpose: a notification goes to the operator (SMTP, the
 * operator callback), not to the disabled webhook, so the per-webhook limits, project fairness and
 * auto-disable that shape the delivery queue do not apply; its two channels keep separate states
 * the API shows (email_state, callback_state); and a delivery row needs an event and a webhook.
 * There is at most one per disabled webhook, so a short leased pass each second is enough.
 */
import crypto from "node:crypto";
import { rootCertificates } from "node:tls";
import { Agent, request, type Dispatcher } from "undici";
import { buildAttemptHeaders } from "../domain/payload.js";
import { HOOKLINE_VERSION } from "../version.js";
import type { Context } from "../services/context.js";
import { dueOutbox, updateOutbox } from "../store/notifications.js";
import type { NotificationRow, OutboxState } from "../store/schema.js";
import { notificationView, webhookView } from "../services/views.js";
import { CoalescedRun } from "../lib/coalesced-run.js";
import { Mailer } from "./mailer.js";

const BACKOFF_MS = [5_000, 30_000, 120_000, 600_000, 3_600_000];
const LEASE_MS = 60_000;

export class Outbox {
  private readonly mailer: Mailer | null;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly passes = new CoalescedRun(() => this.pass());

  constructor(
    private readonly ctx: Context,
    /** Signs operator callbacks (see notifySecret). */
    private readonly signingSecret: string,
    /** Extra CAs for the operator callback (tests); production uses NODE_EXTRA_CA_CERTS. */
    opts: { ca?: string | Buffer | Array<string | Buffer> } = {},
  ) {
    const extraCas = opts.ca === undefined ? [] : Array.isArray(opts.ca) ? opts.ca : [opts.ca];
    this.dispatcher = extraCas.length > 0 ? new Agent({ connect: { ca: [...rootCertificates, ...extraCas] } }) : undefined;
    this.mailer = ctx.config.smtpUrl ? new Mailer(ctx.config.smtpUrl, ctx.config.smtpFrom) : null;
  }

  /** Sends what is due: a pass that starts after this call (calls made during a pass share the next one). */
  run(): Promise<void> {
    return this.passes.request();
  }

  private async pass(): Promise<void> {
    const now = this.ctx.now();
    for (const n of await dueOutbox(this.ctx.store.db, now, 20)) {
      // Lease the row: only the worker whose conditional update wins sends it.
      const res = await this.ctx.store.db
        .updateTable("notifications")
        .set({ outbox_run_at: now + LEASE_MS })
        .where("id", "=", n.id)
        .where("outbox_run_at", "=", n.outbox_run_at)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      await this.deliver(n);
    }
  }

  private async deliver(n: NotificationRow): Promise<void> {
    const email = n.email_state === "pending" ? await this.tryEmail(n) : n.email_state;
    const callback = n.callback_state === "pending" ? await this.tryCallback(n) : n.callback_state;
    const attempts = n.outbox_attempts + 1;
    const stillPending = email === "pending" || callback === "pending";
    const giveUp = stillPending && attempts > BACKOFF_MS.length;
    await updateOutbox(this.ctx.store.db, n.id, {
      email_state: giveUp && email === "pending" ? "failed" : email,
      callback_state: giveUp && callback === "pending" ? "failed" : callback,
      outbox_attempts: attempts,
      outbox_run_at: stillPending && !giveUp ? this.ctx.now() + BACKOFF_MS[attempts - 1] : null,
    });
  }

  private async tryEmail(n: NotificationRow): Promise<OutboxState> {
    if (!this.mailer) return "none";
    try {
      const project = await this.ctx.store.db.selectFrom("projects").select("notification_emails").where("id", "=", n.project_id).executeTakeFirst();
      const to = project ? (JSON.parse(project.notification_emails) as string[]) : [];
      if (to.length === 0) return "none";
      const hook = n.webhook_id
        ? await this.ctx.store.db.selectFrom("webhooks").select(["name", "url"]).where("id", "=", n.webhook_id).executeTakeFirst()
        : undefined;
      await this.mailer.sendDisabled({
        to,
        projectId: n.project_id,
        webhookName: hook?.name ?? n.webhook_id ?? "webhook",
        webhookUrl: hook?.url ?? "",
        message: n.message,
        link: `${this.ctx.config.publicUrl}/projects/${encodeURIComponent(n.project_id)}/webhooks/${n.webhook_id ?? ""}`,
      });
      return "sent";
    } catch (err) {
      this.ctx.log.warn({ notification_id: n.id, err: { message: (err as Error).message } }, "notification e-mail failed; will retry");
      return "pending";
    }
  }

  private async tryCallback(n: NotificationRow): Promise<OutboxState> {
    const url = this.ctx.config.notifyUrl;
    if (!url) return "none";
    try {
      const hook = n.webhook_id ? await this.ctx.store.db.selectFrom("webhooks").selectAll().where("id", "=", n.webhook_id).executeTakeFirst() : undefined;
      const body = JSON.stringify({
        id: n.id,
        event: "webhook.disabled",
        created_at: new Date(n.created_at).toISOString(),
        project_id: n.project_id,
        subject: { notification: notificationView(n), webhook: hook ? webhookView(hook) : null },
      });
      const headers = buildAttemptHeaders({
        event: "webhook.disabled",
        deliveryId: n.id,
        attempt: n.outbox_attempts + 1,
        secret: this.signingSecret,
        body,
        userAgent: `Hookline/${HOOKLINE_VERSION}`,
        now: new Date(this.ctx.now()),
      });
      const res = await request(url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.ctx.config.timeoutMs), dispatcher: this.dispatcher });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return "sent";
      this.ctx.log.warn({ notification_id: n.id, status: res.statusCode }, "notification callback answered non-2xx; will retry");
      return "pending";
    } catch (err) {
      this.ctx.log.warn({ notification_id: n.id, err: { message: (err as Error).message } }, "notification callback failed; will retry");
      return "pending";
    }
  }

  close(): void {
    this.mailer?.close();
    void this.dispatcher?.close();
  }
}

/** The key that signs operator callbacks: HOOKLINE_NOTIFY_SECRET, or one derived from the secret key. */
export function notifySecret(configured: string | undefined, secretKey: string): string {
  return configured ?? "whsec_" + crypto.createHmac("sha256", secretKey).update("hookline-notify").digest("base64");
}
