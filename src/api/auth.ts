/** Bearer-token checks per route: who may call it and which project it may touch. */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ForbiddenError, NotFoundError, RateLimitedError, UnauthorizedError } from "../domain/errors.js";
import { authenticate, type Credentials, type Principal } from "../services/tokens.js";
import type { RateLimiter } from "./rate-limit.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type Access = "any" | "admin" | "project" | "project-admin";

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * Runs as the route's onRequest hook. Requests are counted before the body is read: portal tokens
 * per token, requests without a valid token per client address; the admin token is not limited.
 */
export function authorize(creds: Credentials, now: () => number, access: Access, limiter?: RateLimiter) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearer(request);
    const at = now();
    const principal = authenticate(creds, token, at);
    if (limiter && principal?.kind !== "admin") {
      const verdict = limiter.take(principal ? `token:${token}` : `address:${request.ip}`, at);
      if (!verdict.ok) throw new RateLimitedError(verdict.retryAfterSeconds);
    }
    if (!principal) throw new UnauthorizedError("A valid bearer token is required (Authorization: Bearer <token>); it may have expired.");
    request.principal = principal;
    if (principal.kind === "admin" || access === "any") return;
    if (access === "admin") throw new ForbiddenError("Only the admin token may do this.");
    const projectId = (request.params as { project_id?: string }).project_id;
    // Another project's resources do not exist for a portal token.
    if (projectId !== principal.projectId) throw new NotFoundError("Project");
    if (access === "project-admin" && principal.role !== "admin") throw new ForbiddenError("A viewer token may read but not change anything.");
  };
}
