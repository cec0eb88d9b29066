import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/** The package version, sent as `User-Agent: Hookline/<version>`. */
export const HOOKLINE_VERSION: string = (require("../package.json") as { version: string }).version;
