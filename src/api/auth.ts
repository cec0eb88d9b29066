/** Bearer-token checks per route: who may call it and which project it may touch. */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ForbiddenError, NotFoundError, UnauthorizedError } from "../domain/errors.js";
import { authenticate, type Credentials, type Principal } from "../services/tokens.js";

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

/** Who sent the request (null: no valid token), worked out once per request: the rate limit asks first. */
export function identify(creds: Credentials, now: () => number) {
  const seen = new WeakMap<FastifyRequest, { principal: Principal | null; token?: string }>();
  return (request: FastifyRequest) => {
    let found = seen.get(request);
    if (!found) {
      const token = bearer(request);
      found = { principal: authenticate(creds, token, now()), token };
      seen.set(request, found);
    }
    return found;
  };
}

/** The route's onRequest check, after the rate limit and before the body is parsed. */
export function authorize(who: ReturnType<typeof identify>, access: Access) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const { principal } = who(request);
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
