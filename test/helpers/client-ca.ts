/**
 * A local CA and client certificates made with the `openssl` CLI, for mTLS tests: `ca` signs
 * `client()` certificates; a second, unknown CA makes certificates a receiver must refuse.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { selfSignedArgs } from "../../src/cli/self-signed.js";

const run = promisify(execFile);

export interface Pem {
  cert: string;
  key: string;
}

export interface ClientCa {
  ca: Pem;
  /** A client certificate signed by this CA, valid for `days`. */
  client(cn: string, days?: number): Promise<Pem>;
}

export async function makeClientCa(name: string): Promise<ClientCa> {
  const dir = await mkdtemp(join(tmpdir(), "hookline-ca-"));
  try {
    const [caKey, caCert] = [join(dir, "ca.key"), join(dir, "ca.pem")];
    await run("openssl", selfSignedArgs(caKey, caCert, { days: 30, subject: `/CN=${name}` }));
    const ca = { key: await readFile(caKey, "utf8"), cert: await readFile(caCert, "utf8") };
    return {
      ca,
      async client(cn, days = 30) {
        const work = await mkdtemp(join(tmpdir(), "hookline-client-"));
        try {
          const [key, csr, cert, caK, caC] = ["c.key", "c.csr", "c.pem", "ca.key", "ca.pem"].map((f) => join(work, f));
          await Promise.all([
            import("node:fs/promises").then((fs) => fs.writeFile(caK, ca.key)),
            import("node:fs/promises").then((fs) => fs.writeFile(caC, ca.cert)),
          ]);
          await run("openssl", [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            `/CN=${cn}/O=Hookline Tests`,
          ]);
          await run("openssl", ["x509", "-req", "-in", csr, "-CA", caC, "-CAkey", caK, "-CAcreateserial", "-out", cert, "-days", String(days)]);
          return { key: await readFile(key, "utf8"), cert: await readFile(cert, "utf8") };
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
