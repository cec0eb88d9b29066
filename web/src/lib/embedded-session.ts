/**
 * The API client of an embedded portal: when its token is refused (it expired), it asks the host
 * page for a fresh one and retries the request with it, so the user's action goes through without a
 * reload; it also asks shortly before the token's expiry. Only when the host sends none does the
 * portal say that the link expired.
 */
import { ApiError, createClient, type ApiClient } from "../api/client";
import { connectHost, type EmbedOptions, type HostChannel } from "./embed";
import { portalToken } from "./session";

export interface EmbeddedSession {
  client: ApiClient;
  host: Promise<HostChannel | null>;
  /** Asks for a fresh token when this one expires; `onRenewed` runs once it came. Returns a cancel function. */
  renewAt(expiresAt: string, onRenewed: () => void): () => void;
}

export function createEmbeddedSession(look: EmbedOptions, onExpired: () => void): EmbeddedSession {
  let token = portalToken.get() ?? "";
  const host = connectHost(look, (fresh) => {
    token = fresh;
    portalToken.set(fresh);
  });
  const inner = createClient(
    () => token,
    () => {},
  );

  async function renewed(): Promise<boolean> {
    const channel = await host;
    return channel ? channel.renew() : false;
  }

  async function retrying<R>(call: () => Promise<R>): Promise<R> {
    const used = token;
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      // A fresh token may have come while this request was on its way: then it is simply sent again.
      if (token === used && !(await renewed())) {
        onExpired();
        throw err;
      }
      return call();
    }
  }

  const client: ApiClient = {
    get: (path, signal) => retrying(() => inner.get(path, signal)),
    post: (path, body) => retrying(() => inner.post(path, body)),
    patch: (path, body) => retrying(() => inner.patch(path, body)),
    put: (path, body) => retrying(() => inner.put(path, body)),
    del: (path) => retrying(() => inner.del(path)),
    download: (path) => retrying(() => inner.download(path)),
  };

  function renewAt(expiresAt: string, onRenewed: () => void): () => void {
    // At the expiry, not before: a host that mints short sessions would otherwise be asked again and
    // again. A request that meets the expiry first waits for the fresh token and is sent again.
    const ms = Math.min(Date.parse(expiresAt) - Date.now(), 2 ** 31 - 1);
    const timer = setTimeout(
      () =>
        void renewed().then((ok) => {
          if (ok) onRenewed();
        }),
      Math.max(0, ms),
    );
    return () => clearTimeout(timer);
  }

  return { client, host, renewAt };
}
