/**
 * API abuse limits (HOOKLINE_RATE_LIMIT requests per minute) with @fastify/rate-limit, run as the
 * first onRequest hook of every authenticated route, before the body is read.
 *
 * Keys: a portal token, or the client address for requests without a valid token (guessing tokens
 * is throttled without one bad client blocking anyone who has a token). The admin token is never
 * limited: a host app publishes with it at whatever rate it produces events. Counts are kept per
 * process in a bounded LRU (a flood of new addresses cannot grow memory without bound), in one-minute
 * windows: a full minute's budget may be spent in a burst.
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { RateLimitedError } from "../domain/errors.js";
import type { Principal } from "../services/tokens.js";

/** Most keys counted at once; the least recently seen go first. */
export const MAX_KEYS = 10_000;
const WINDOW_MS = 60_000;

/**
 * The limiting hook for `perMinute` requests per key, or undefined when limiting is off (0).
 * `who` authenticates the request (cached per request, so the route's own check reuses it).
 */
export async function rateLimitHook(
  app: FastifyInstance,
  perMinute: number,
  who: (request: FastifyRequest) => { principal: Principal | null; token?: string },
): Promise<onRequestAsyncHookHandler | undefined> {
  if (perMinute <= 0) return undefined;
  await app.register(rateLimit, {
    global: false,
    max: perMinute,
    timeWindow: WINDOW_MS,
    cache: MAX_KEYS,
    keyGenerator: (request) => {
      const { principal, token } = who(request);
      return principal ? `token:${token}` : `address:${request.ip}`;
    },
    allowList: (request) => who(request).principal?.kind === "admin",
    // Thrown by the plugin: the error handler answers 429 in the API's error shape with Retry-After.
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
    addHeaders: { "x-ratelimit-limit": false, "x-ratelimit-remaining": false, "x-ratelimit-reset": false, "retry-after": false },
    addHeadersOnExceeding: { "x-ratelimit-limit": false, "x-ratelimit-remaining": false, "x-ratelimit-reset": false },
  });
  return app.rateLimit() as onRequestAsyncHookHandler;
}
