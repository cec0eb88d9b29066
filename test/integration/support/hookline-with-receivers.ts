/**
 * One test's Hookline with the TLS receivers it delivers to: the receivers start first and their
 * CAs are trusted; after each test the receivers close first (hanging sockets included, so the
 * runtime's shutdown has no attempt left to wait for), then Hookline.
 */
import { afterEach } from "vitest";
import type { TestDialect } from "../../helpers/databases.js";
import { startHookline, type StartOptions, type TestHookline } from "../../helpers/hookline.js";
import { startReceiver, type Receiver, type ReceiverOptions } from "../../helpers/receiver.js";

/**
 * One origin for many webhooks, as behind Zapier, Slack or an API gateway: a request whose path
 * starts with `/hang` is read and never answered, any other path is answered 200 at once.
 */
export const SHARED_ORIGIN: ReceiverOptions = { respond: (req) => (req.path.startsWith("/hang") ? { hang: true } : { status: 200 }) };

export interface Started {
  hl: TestHookline;
  receivers: Receiver[];
}

/** Call in a describe block; each test calls the answer once, with one options object per receiver. */
export function hooklineWithReceivers(dialect: TestDialect): (receivers: ReceiverOptions[], opts?: Omit<StartOptions, "dialect" | "ca">) => Promise<Started> {
  let started: Partial<Started> = {};
  afterEach(async () => {
    await Promise.all((started.receivers ?? []).map((r) => r.close()));
    await started.hl?.close();
    started = {};
  });
  return async (receiverOptions, opts = {}) => {
    const receivers = await Promise.all(receiverOptions.map((o) => startReceiver(o)));
    started = { receivers };
    started.hl = await startHookline({ ...opts, dialect, ca: receivers.map((r) => r.ca) });
    return started as Started;
  };
}
