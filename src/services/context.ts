import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config.js";
import type { Store } from "../store/db.js";
import type { Tracing } from "../tracing.js";

/** What every service needs: configuration, the database, a clock and a logger. */
export interface Context {
  config: ResolvedConfig;
  store: Store;
  /** Injected clock (epoch ms), so retry timing and expiry are testable. */
  now(): number;
  log: Logger;
  /**
   * In-process signals: "published" wakes this process's worker at once; "cancelled" (counts by
   * trigger) and "webhook-disabled" (a reason) tell the metrics what was committed
   * (services/webhook-disable.ts).
   */
  signals: EventEmitter;
  /** OpenTelemetry tracing, or null when it is off (no OTEL_EXPORTER_OTLP_ENDPOINT). */
  tracing: Tracing | null;
}

export function createContext(config: ResolvedConfig, store: Store, log: Logger, now: () => number = Date.now): Context {
  const signals = new EventEmitter();
  signals.setMaxListeners(100);
  return { config, store, now, log, signals, tracing: null };
}
