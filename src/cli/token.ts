/**
 * `hookline token --project ID [--role viewer] [--ttl 3600] [--url https://hooks.example.com]`:
 * prints a portal link for one project, at --url (else HOOKLINE_PUBLIC_URL), the address users reach.
 */
import { parseArgs } from "node:util";
import { Runtime } from "../runtime.js";
import { getProject } from "../services/projects.js";
import { mintPortalToken } from "../services/tokens.js";

export async function tokenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      project: { type: "string" },
      role: { type: "string", default: "admin" },
      ttl: { type: "string", default: "3600" },
      "database-url": { type: "string" },
      url: { type: "string" },
    },
    strict: true,
  });
  if (!values.project) {
    console.error("hookline token: --project ID is required");
    return 2;
  }
  if (values.role !== "admin" && values.role !== "viewer") {
    console.error('hookline token: --role must be "admin" or "viewer"');
    return 2;
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 30 * 24 * 3600) {
    console.error("hookline token: --ttl must be whole seconds from 60 to 2592000");
    return 2;
  }
  const runtime = await Runtime.start({
    config: { databaseUrl: values["database-url"], publicUrl: values.url },
    logger: (await import("pino")).default({ level: "warn" }),
  });
  if (runtime.creds.generatedAdminToken) {
    // The first start on this database generated the admin token: this is its only showing.
    console.error(`Admin token (generated; shown once): ${runtime.creds.adminToken}`);
  }
  try {
    await getProject(runtime.ctx, values.project);
    const expiresAt = runtime.ctx.now() + ttl * 1000;
    const token = mintPortalToken(runtime.creds.secretKey, { projectId: values.project, role: values.role, expiresAt });
    console.log(`${runtime.config.publicUrl}/portal#token=${encodeURIComponent(token)}`);
    console.error(`Portal link for project "${values.project}" (${values.role}), valid until ${new Date(expiresAt).toISOString()}.`);
    return 0;
  } catch (err) {
    console.error(`hookline token: ${(err as Error).message}`);
    return 1;
  } finally {
    await runtime.close();
  }
}
