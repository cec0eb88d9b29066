/** `--demo`: the `demo` project. (Filled in by the developer-experience work: listen endpoint, webhooks.) */
import type { Runtime } from "../runtime.js";
import { putProject } from "../services/projects.js";

export async function runDemo(runtime: Runtime): Promise<string[]> {
  await putProject(runtime.ctx, "demo", { name: "Demo project" });
  return [`Demo project: ${runtime.config.publicUrl}/projects/demo`];
}
