/**
 * A webhook's TLS client certificate (mTLS; docs/receivers.md, "Client certificate"): a PEM
 * certificate (its chain may follow) and the unencrypted PEM private key that matches it. The key is
 * stored sealed like secrets and never shown; what GET shows is read from the certificate.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import type { FieldError } from "./errors.js";

export interface ClientCertificate {
  /** PEM: the client certificate first, then any intermediates. */
  cert: string;
  /** PEM private key (PKCS#8, PKCS#1 or SEC1), unencrypted. */
  key: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  not_after: string;
  fingerprint_sha256: string;
}

/** A receiver's chain is rarely over a few KiB; this leaves room and keeps rows bounded. */
const MAX_PEM_LENGTH = 64 * 1024;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /^-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+-----END (?:RSA |EC )?PRIVATE KEY-----$/;

/** `CN=a\nO=b` (how Node prints a name) as one line: `CN=a, O=b`. */
const oneLine = (name: string) => name.split("\n").filter(Boolean).join(", ");

export function certificateInfo(certPem: string): CertificateInfo {
  const x = new X509Certificate(certPem.match(PEM_CERT)?.[0] ?? certPem);
  return { subject: oneLine(x.subject), issuer: oneLine(x.issuer), not_after: new Date(x.validTo).toISOString(), fingerprint_sha256: x.fingerprint256 };
}

export type CertificateCheck = { value: ClientCertificate | null } | { errors: FieldError[] };

/** `null` removes the option. Refuses non-PEM input, a key that does not match, an expired certificate. */
export function checkClientCertificate(raw: unknown, now: number): CertificateCheck {
  if (raw === null) return { value: null };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { errors: [{ field: "client_certificate", message: "client_certificate must be an object {cert, key} of PEM texts, or null." }] };
  }
  const input = raw as Record<string, unknown>;
  const errors: FieldError[] = Object.keys(input)
    .filter((k) => k !== "cert" && k !== "key")
    .map((k) => ({ field: `client_certificate.${k}`, message: `client_certificate.${k} is not a field of client_certificate (it takes cert and key).` }));
  const cert = typeof input.cert === "string" ? input.cert.trim() : undefined;
  const key = typeof input.key === "string" ? input.key.trim() : undefined;
  let certs: X509Certificate[] = [];
  if (cert === undefined)
    errors.push({ field: "client_certificate.cert", message: "client_certificate.cert is required: the PEM certificate (-----BEGIN CERTIFICATE-----)." });
  else if (cert.length > MAX_PEM_LENGTH)
    errors.push({ field: "client_certificate.cert", message: `client_certificate.cert must be at most ${MAX_PEM_LENGTH} characters.` });
  else {
    try {
      const blocks = cert.match(PEM_CERT) ?? [];
      if (blocks.length === 0 || cert.replace(PEM_CERT, "").trim() !== "") throw new Error("not PEM");
      certs = blocks.map((b) => new X509Certificate(b));
    } catch {
      errors.push({
        field: "client_certificate.cert",
        message: "client_certificate.cert must be one or more PEM certificates (-----BEGIN CERTIFICATE----- …).",
      });
    }
  }
  let keyObject: KeyObject | undefined;
  if (key === undefined) errors.push({ field: "client_certificate.key", message: "client_certificate.key is required: the PEM private key." });
  else if (key.length > MAX_PEM_LENGTH || !PEM_KEY.test(key)) {
    errors.push({ field: "client_certificate.key", message: "client_certificate.key must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- …)." });
  } else {
    try {
      keyObject = createPrivateKey({ key, format: "pem" });
    } catch (err) {
      const encrypted = /passphrase/i.test((err as Error).message);
      errors.push({
        field: "client_certificate.key",
        message: encrypted
          ? "client_certificate.key is encrypted; give the key without a passphrase."
          : "client_certificate.key is not a readable PEM private key.",
      });
    }
  }
  const leaf = certs[0];
  if (leaf && Date.parse(leaf.validTo) <= now) {
    errors.push({ field: "client_certificate.cert", message: `client_certificate.cert expired on ${new Date(leaf.validTo).toISOString()}.` });
  }
  if (leaf && keyObject && !leaf.checkPrivateKey(keyObject)) {
    errors.push({ field: "client_certificate.key", message: "client_certificate.key does not match the certificate (the first one in cert)." });
  }
  return errors.length > 0 ? { errors } : { value: { cert: `${cert}\n`, key: `${key}\n` } };
}
