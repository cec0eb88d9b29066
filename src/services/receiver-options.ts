/**
 * The receiver options between the API and the webhooks table: custom headers (in clear), the auth
 * (in clear without its secret; the secret sealed) and the client certificate (the PEM in clear, the
 * key sealed). Only the columns of options present in the request are written.
 */
import { certificateInfo } from "../domain/client-certificate.js";
import { splitAuth, type PublicAuth } from "../domain/receiver-auth.js";
import type { ValidWebhookFields } from "../domain/webhook-rules.js";
import type { Webhook } from "../api/schemas.js";
import type { WebhookRow, WebhooksTable } from "../store/schema.js";
import type { Context } from "./context.js";
import { sealSecret } from "./secrets.js";

type OptionColumns = Pick<WebhooksTable, "headers" | "auth" | "auth_secret" | "client_cert" | "client_key">;

export function receiverOptionColumns(ctx: Context, fields: ValidWebhookFields): Partial<OptionColumns> {
  const out: Partial<OptionColumns> = {};
  if (fields.headers !== undefined) out.headers = fields.headers === null ? null : JSON.stringify(fields.headers);
  if (fields.auth !== undefined) {
    const parts = fields.auth && splitAuth(fields.auth);
    out.auth = parts ? JSON.stringify(parts.shown) : null;
    out.auth_secret = parts ? sealSecret(ctx, parts.secret) : null;
  }
  if (fields.client_certificate !== undefined) {
    out.client_cert = fields.client_certificate?.cert ?? null;
    out.client_key = fields.client_certificate ? sealSecret(ctx, fields.client_certificate.key) : null;
  }
  return out;
}

/** What GET shows: headers as given, auth without its secret, the certificate's identity and expiry. */
export function receiverOptionsView(w: WebhookRow): Pick<Webhook, "headers" | "auth" | "client_certificate"> {
  return {
    headers: w.headers ? (JSON.parse(w.headers) as Record<string, string>) : null,
    auth: w.auth ? (JSON.parse(w.auth) as PublicAuth) : null,
    client_certificate: w.client_cert ? certificateInfo(w.client_cert) : null,
  };
}
