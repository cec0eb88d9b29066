/**
 * Credentials: the admin token and portal tokens. Portal tokens are HMAC-SHA256-signed (with
 * HOOKLINE_SECRET_KEY) claims {project, role, expiry}, so any node sharing the key verifies them
 * without a database lookup. All comparisons are constant-time.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export type Role = "admin" | "viewer";

export type Principal = { kind: "admin" } | { kind: "portal"; projectId: string; role: Role; expiresAt: number };

const PORTAL_PREFIX = "hlp_";

export interface Credentials {
  /** Null when only its hash is known: another node of the cluster generated it. */
  adminToken: string | null;
  /** SHA-256 of the admin token: what requests are checked against. */
  adminTokenHash: Buffer;
  secretKey: string;
  /** Set when this start generated the admin token, so the CLI prints it once. */
  generatedAdminToken: boolean;
}

export const sha256 = (value: string): Buffer => crypto.createHash("sha256").update(value).digest();

/** A new admin token / secret key. */
export const newAdminToken = () => "hla_" + crypto.randomBytes(24).toString("base64url");
export const newSecretKey = () => crypto.randomBytes(32).toString("base64url");

function readOrCreate(file: string, make: () => string): { value: string; created: boolean } {
  try {
    const value = fs.readFileSync(file, "utf8").trim();
    if (value) return { value, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const value = make();
  try {
    fs.writeFileSync(file, value + "\n", { mode: 0o600, flag: "wx" });
    return { value, created: true };
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { value: fs.readFileSync(file, "utf8").trim(), created: false };
    throw err;
  }
}

export function loadCredentials(opts: { dataDir: string; adminToken?: string; secretKey?: string }): Credentials {
  const admin = opts.adminToken ? { value: opts.adminToken, created: false } : readOrCreate(path.join(opts.dataDir, "admin-token"), newAdminToken);
  const key = opts.secretKey ? { value: opts.secretKey } : readOrCreate(path.join(opts.dataDir, "secret-key"), newSecretKey);
  return { adminToken: admin.value, adminTokenHash: sha256(admin.value), secretKey: key.value, generatedAdminToken: admin.created };
}

function safeEqual(a: string, b: string): boolean {
  return crypto.timingSafeEqual(sha256(a), sha256(b));
}

function mac(secretKey: string, payload: string): string {
  return crypto.createHmac("sha256", secretKey).update(payload).digest("base64url");
}

export function mintPortalToken(secretKey: string, c: { projectId: string; role: Role; expiresAt: number }): string {
  const payload = Buffer.from(
    JSON.stringify({ p: c.projectId, r: c.role, e: Math.floor(c.expiresAt / 1000), n: crypto.randomBytes(6).toString("base64url") }),
  ).toString("base64url");
  return `${PORTAL_PREFIX}${payload}.${mac(secretKey, payload)}`;
}

/** The principal a bearer token stands for, or null when it is missing, unknown, forged or expired. */
export function authenticate(creds: Credentials, token: string | undefined, now: number): Principal | null {
  if (!token || token.length > 4096) return null;
  // The admin token is checked first: an operator's token may itself start with the portal prefix.
  if (crypto.timingSafeEqual(sha256(token), creds.adminTokenHash)) return { kind: "admin" };
  if (!token.startsWith(PORTAL_PREFIX)) return null;
  // Exactly `payload.signature`: trailing segments would make one token spellable many ways.
  const parts = token.slice(PORTAL_PREFIX.length).split(".");
  if (parts.length !== 2) return null;
  const [payload, signature] = parts;
  if (!payload || !signature || !safeEqual(signature, mac(creds.secretKey, payload))) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { p: string; r: Role; e: number };
    if (typeof claims.p !== "string" || (claims.r !== "admin" && claims.r !== "viewer") || typeof claims.e !== "number") return null;
    if (claims.e * 1000 <= now) return null;
    return { kind: "portal", projectId: claims.p, role: claims.r, expiresAt: claims.e * 1000 };
  } catch {
    return null;
  }
}
