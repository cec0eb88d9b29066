/**
 * Hookline as a library: `import { createHookline } from "hookline"`. This file names the whole
 * public surface; nothing else is API. Receivers use `hookline/verify` instead (no database code).
 */
export { createHookline, type Hookline } from "./library/create-hookline.js";
// Every type of library/types.ts is public (the objects, the options, the event map helpers).
export type * from "./library/types.js";
export { ConfigError } from "./config.js";
export { HooklineError, LimitError, NotFoundError, PayloadTooLargeError, UnavailableError, ValidationError, type FieldError } from "./domain/errors.js";
export { DEFAULT_CATALOG, TEST_EVENT } from "./domain/catalog.js";
export { HOOKLINE_VERSION } from "./version.js";
