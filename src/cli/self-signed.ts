/**
 * A self-signed certificate for `hookline listen --https`, valid for localhost, 127.0.0.1 and ::1.
 * Node 20 cannot create X.509 certificates itself, so this runs the `openssl` command. The pair is
 * kept in the temp folder and reused while valid, so Hookline keeps trusting it across restarts.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export class OpensslMissingError extends Error {
  constructor() {
    super(
      "--https needs the `openssl` command to make a self-signed certificate (Node cannot create X.509 certificates itself). " +
        "Install OpenSSL, or leave out --https: Hookline accepts http://localhost targets in demo mode, or with " +
        "HOOKLINE_ALLOW_HTTP=true and HOOKLINE_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8.",
    );
    this.name = "OpensslMissingError";
  }
}

export interface SelfSignedCertificate {
  key: string;
  cert: string;
  /** The PEM file to trust (NODE_EXTRA_CA_CERTS). */
  certFile: string;
}

/** `openssl req` arguments for a self-signed P-256 certificate and its unencrypted key (the tests' and the bench's receivers use it too). */
export function selfSignedArgs(keyFile: string, certFile: string, o: { days: number; subject: string; altNames?: string }): string[] {
  const san = o.altNames ? ["-addext", `subjectAltName=${o.altNames}`] : [];
  return [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    String(o.days),
    "-subj",
    o.subject,
    ...san,
  ];
}

const DEFAULT_DIR = path.join(os.tmpdir(), "hookline-listen-tls");
const VALID_DAYS = 30;

function readValid(dir: string): SelfSignedCertificate | null {
  try {
    const key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
    const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    // Renew a day early, so a long-running listener does not expire mid-session.
    if (new Date(new X509Certificate(cert).validTo).getTime() < Date.now() + 24 * 3600_000) return null;
    return { key, cert, certFile: path.join(dir, "cert.pem") };
  } catch {
    return null;
  }
}

export async function selfSignedCertificate(dir = DEFAULT_DIR): Promise<SelfSignedCertificate> {
  const existing = readValid(dir);
  if (existing) return existing;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const work = fs.mkdtempSync(`${dir}-new-`);
  try {
    await run(
      "openssl",
      selfSignedArgs(path.join(work, "key.pem"), path.join(work, "cert.pem"), {
        days: VALID_DAYS,
        subject: "/CN=localhost",
        altNames: "DNS:localhost,IP:127.0.0.1,IP:::1",
      }),
    ).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new OpensslMissingError();
      throw new Error(`openssl could not make a certificate: ${(err as { stderr?: string }).stderr?.trim() || err.message}`);
    });
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      // One rename publishes key and certificate together; a concurrent start keeps whichever won.
      fs.renameSync(work, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
    const made = readValid(dir);
    if (!made) throw new Error(`could not read the certificate written to ${dir}`);
    return made;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
