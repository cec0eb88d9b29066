/**
 * Runs the real `hookline` CLI as a child process (dist/ is built by test/global-setup.ts), in a
 * working directory of its own unless given one: never the repository's, whose ./data may hold
 * what `npm start` wrote (a process would pick up its admin token and secret key).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/hookline.js");

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string } = {}): CliProcess {
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), "hookline-cli-"));
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  if (!opts.cwd) child.on("exit", () => fs.rmSync(cwd, { recursive: true, force: true }));
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    async waitForOutput(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Writes a PEM to a temp file, for NODE_EXTRA_CA_CERTS. */
export function caFile(pem: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hookline-ca-")), "ca.pem");
  fs.writeFileSync(file, pem);
  return file;
}
