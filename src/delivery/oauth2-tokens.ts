/**
 * OAuth2 client-credentials tokens for the webhooks whose `auth` asks for them (docs/receivers.md,
 * "OAuth2 client credentials"). A token is fetched from the webhook's `token_url` through the same
 * sender as the attempts (URL policy, pinned DNS, the proxy) within the attempt's own time budget, and
 * cached per webhook until `expires_in` − 30 s. Concurrent attempts of one webhook share one request.
 * The cache lives in the sender thread, so with several sender threads each fetches its own token.
 */
import { createHash } from "node:crypto";
import type { ReceiverAuth } from "../domain/receiver-auth.js";
import type { Sender } from "./sender.js";

type OAuth2Auth = Extract<ReceiverAuth, { type: "oauth2_client_credentials" }>;

/** A token is given up this long before the token endpoint said it expires. */
export const EXPIRY_MARGIN_MS = 30_000;
/** When the endpoint does not say (`expires_in` is optional), a token is kept this long, or until a 401. */
const DEFAULT_LIFETIME_MS = 3600_000;

export type TokenAnswer = { token: string } | { error: string; timedOut: boolean };

interface Entry {
  /** Digest of the auth the token was fetched with: an edited auth never reuses an old token. */
  digest: string;
  token?: string;
  expiresAt: number;
  pending?: Promise<Fetched>;
}

type Fetched = { token: string; expiresAt: number } | { error: string; timedOut: boolean };

export class OAuth2Tokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly sender: Sender,
    private readonly userAgent: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token for the webhook: cached, being fetched by another attempt, or fetched now within `budgetMs`. */
  token(webhookId: string, auth: OAuth2Auth, budgetMs: number): Promise<TokenAnswer> {
    const digest = createHash("sha256").update(JSON.stringify(auth)).digest("hex");
    const entry = this.entries.get(webhookId);
    if (entry?.digest === digest) {
      if (entry.token !== undefined && entry.expiresAt > this.now()) return Promise.resolve({ token: entry.token });
      if (entry.pending) return entry.pending.then(answerOf);
    }
    const fresh: Entry = { digest, expiresAt: 0 };
    fresh.pending = this.fetch(webhookId, auth, budgetMs).then((answer) => {
      fresh.pending = undefined;
      if ("token" in answer) Object.assign(fresh, { token: answer.token, expiresAt: answer.expiresAt });
      else if (this.entries.get(webhookId) === fresh) this.entries.delete(webhookId); // the next attempt asks again
      return answer;
    });
    this.entries.set(webhookId, fresh);
    return fresh.pending.then(answerOf);
  }

  /** The receiver refused `token` (401): the next call fetches a new one, unless another attempt already did. */
  forget(webhookId: string, token: string): void {
    const entry = this.entries.get(webhookId);
    if (entry?.token === token) this.entries.delete(webhookId);
  }

  private async fetch(webhookId: string, auth: OAuth2Auth, budgetMs: number): Promise<Fetched> {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (auth.scope) form.set("scope", auth.scope);
    if (auth.audience) form.set("audience", auth.audience);
    // RFC 6749 §2.3.1: the client id and secret are form-encoded before they go into Basic.
    const basic = Buffer.from(`${encodeURIComponent(auth.client_id)}:${encodeURIComponent(auth.client_secret)}`).toString("base64");
    const started = this.now();
    const result = await this.sender.send(
      {
        // On the webhook's own connections (to the token endpoint's origin), like its attempts.
        webhookId,
        url: auth.token_url,
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
          "User-Agent": this.userAgent,
          Authorization: `Basic ${basic}`,
        },
        body: form.toString(),
      },
      undefined,
      { timeoutMs: budgetMs },
    );
    if (result.response === null || result.statusCode === null) return { error: `oauth2 token: ${result.error ?? "no response"}`, timedOut: result.timedOut };
    let json: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      json = JSON.parse(result.response.body) as typeof json;
    } catch {
      // described below by the status, or as a body that is not JSON
    }
    if (!result.success) {
      const code = typeof json.error === "string" ? ` ${json.error.slice(0, 100)}` : "";
      return { error: `oauth2 token: ${result.statusCode}${code}`, timedOut: false };
    }
    if (typeof json.access_token !== "string" || json.access_token === "" || /[\r\n]/.test(json.access_token)) {
      return { error: `oauth2 token: ${result.statusCode} answer without a usable access_token`, timedOut: false };
    }
    const expiresIn = typeof json.expires_in === "number" || typeof json.expires_in === "string" ? Number(json.expires_in) * 1000 : NaN;
    const lifetime = Number.isFinite(expiresIn) ? expiresIn : DEFAULT_LIFETIME_MS;
    // A lifetime of 30 s or less serves the attempt that fetched it (and those waiting for it) only.
    return { token: json.access_token, expiresAt: started + lifetime - EXPIRY_MARGIN_MS };
  }
}

const answerOf = (f: Fetched): TokenAnswer => ("token" in f ? { token: f.token } : f);
