/** What every route plugin finds on its Fastify instance: decorated once by buildApi (app.ts). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { onRequestAsyncHookHandler } from "fastify";
import type { Metrics } from "../delivery/metrics.js";
import type { Context } from "../services/context.js";
import type { Credentials } from "../services/tokens.js";
import type { Access } from "./auth.js";

declare module "fastify" {
  interface FastifyInstance {
    ctx: Context;
    creds: Credentials;
    metrics: Metrics;
    /**
     * The route's `onRequest` hooks: the rate limit, then authentication, before the body is parsed or
     * validated, so a caller without a valid token learns nothing about the body rules (429, 401, then 400/413/422).
     */
    guard(access: Access): onRequestAsyncHookHandler[];
  }
}

/** A file of routes: a Fastify plugin whose requests and replies are typed by their TypeBox schemas. */
export type RoutePlugin = FastifyPluginAsyncTypebox;
