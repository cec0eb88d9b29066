/**
 * Hookline as a library: `import { createHookline } from "hookline"`. This file names the whole
 * public surface; nothing else is API. Receivers use `hookline/verify` instead (no database code).
 */
export { createHookline, type Hookline } from "./library/create-hookline.js";
export type {
  DisabledReason,
  HooklineTypedConfig,
  EventMap,
  EventName,
  EventType,
  HooklineConfig,
  HooklineOptions,
  ListenOptions,
  LogEntry,
  LogEntrySummary,
  LogPage,
  LogQuery,
  Notification,
  PortalLink,
  PortalLinkOptions,
  Project,
  ProjectInput,
  PublishOptions,
  PublishResult,
  Trigger,
  Webhook,
  WebhookInput,
  WebhookList,
} from "./library/types.js";
export { ConfigError } from "./config.js";
export { HooklineError, LimitError, NotFoundError, PayloadTooLargeError, UnavailableError, ValidationError, type FieldError } from "./domain/errors.js";
export { DEFAULT_CATALOG, TEST_EVENT } from "./domain/catalog.js";
export { HOOKLINE_VERSION } from "./version.js";
