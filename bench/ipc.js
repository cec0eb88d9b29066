/** Request/answer over a forked child's IPC channel: each message gets an id, the answer carries it back. */
export function ipcCaller(child, name) {
  const pending = new Map();
  let seq = 0;
  child.on("message", (m) => pending.get(m?.id)?.(m));
  /** Sends `msg` and resolves with the child's answer (rejects after `timeoutMs`, 0: never). */
  return (msg, timeoutMs = 0) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const timer = timeoutMs
        ? setTimeout(() => {
            pending.delete(id);
            reject(new Error(`${name}: ${msg.cmd} timed out after ${timeoutMs} ms`));
          }, timeoutMs)
        : null;
      pending.set(id, (m) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(m);
      });
      child.send({ ...msg, id });
    });
}
