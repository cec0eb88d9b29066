import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { selfSignedArgs } from "../../src/cli/self-signed.js";

const run = promisify(execFile);

export interface Certificate {
  /** PEM private key. */
  key: string;
  /** PEM self-signed certificate; also the CA to trust (pass it as `ca`). */
  cert: string;
}

let cached: Promise<Certificate> | undefined;

/**
 * A self-signed certificate valid for `localhost`, `*.hookline.test` (names tests resolve through a
 * `lookup` hook), `127.0.0.1` and `::1`, made once per process with the `openssl` CLI (no key
 * material is checked into the repository).
 */
export function makeCertificate(): Promise<Certificate> {
  cached ??= generate().catch((err: unknown) => {
    cached = undefined; // let a later call retry instead of caching the failure
    throw err;
  });
  return cached;
}

async function generate(): Promise<Certificate> {
  const dir = await mkdtemp(join(tmpdir(), "hookline-tls-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    await run(
      "openssl",
      selfSignedArgs(keyPath, certPath, { days: 2, subject: "/CN=localhost", altNames: "DNS:localhost,DNS:*.hookline.test,IP:127.0.0.1,IP:::1" }),
    );
    const [key, cert] = await Promise.all([readFile(keyPath, "utf8"), readFile(certPath, "utf8")]);
    return { key, cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
