import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";

function subscribeVisibility(cb: () => void) {
  document.addEventListener("visibilitychange", cb);
  return () => document.removeEventListener("visibilitychange", cb);
}

export function usePageVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => document.visibilityState === "visible");
}

/**
 * Last good answer per key, so going back to a page shows it at once while it is fetched again
 * (stale-while-revalidate). Cleared on sign-out.
 */
const cache = new Map<string, unknown>();

export function clearResourceCache(): void {
  cache.clear();
}

/** Adjusts another page's cached answer after a write here (e.g. the list after a delete). */
export function updateCached<T>(key: string, update: (current: T) => T): void {
  if (cache.has(key)) cache.set(key, update(cache.get(key) as T));
}

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Fetches again now; resolves when done. */
  reload: () => Promise<void>;
  /** Local update after a write, so the screen changes without waiting for the next poll. */
  mutate: (update: (current: T | undefined) => T | undefined) => void;
}

/**
 * Loads `load()` whenever `key` changes, and again every `pollMs` while the tab is visible (the
 * next poll is scheduled after the previous one finished, so slow answers never pile up).
 * A failed poll keeps the last good data and exposes the error.
 */
export function useResource<T>(key: string, load: (signal: AbortSignal) => Promise<T>, pollMs?: number): Resource<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; loading: boolean }>(() => ({
    key,
    data: cache.get(key) as T | undefined,
    loading: true,
  }));
  const loadRef = useRef(load);
  loadRef.current = load;
  const visible = usePageVisible();
  const inflight = useRef<AbortController | null>(null);
  const keyRef = useRef(key);
  keyRef.current = key;

  const run = useCallback(async () => {
    inflight.current?.abort();
    const controller = new AbortController();
    inflight.current = controller;
    const forKey = keyRef.current;
    try {
      const data = await loadRef.current(controller.signal);
      if (controller.signal.aborted || forKey !== keyRef.current) return;
      cache.set(forKey, data);
      setState({ key: forKey, data, loading: false });
    } catch (error) {
      if (controller.signal.aborted || forKey !== keyRef.current) return;
      setState((s) => ({ key: forKey, data: s.key === forKey ? s.data : undefined, error, loading: false }));
    } finally {
      if (inflight.current === controller) inflight.current = null;
    }
  }, []);

  // First load and reload on key change.
  useEffect(() => {
    setState((s) => (s.key === key ? s : { key, data: cache.get(key) as T | undefined, loading: true }));
    void run();
    return () => inflight.current?.abort();
  }, [key, run]);

  // Polling while visible; coming back to the tab refreshes at once.
  useEffect(() => {
    if (!pollMs || !visible) return;
    let timer: number | undefined;
    let stopped = false;
    const tick = async () => {
      if (inflight.current === null) await run();
      if (!stopped) timer = window.setTimeout(tick, pollMs);
    };
    timer = window.setTimeout(tick, pollMs);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [pollMs, visible, run]);

  const wasVisible = useRef(visible);
  useEffect(() => {
    if (visible && !wasVisible.current && pollMs) void run();
    wasVisible.current = visible;
  }, [visible, pollMs, run]);

  const mutate = useCallback((update: (current: T | undefined) => T | undefined) => {
    setState((s) => {
      const data = update(s.data);
      cache.set(s.key, data);
      return { ...s, data };
    });
  }, []);

  const current = state.key === key ? state : { key, loading: true, data: cache.get(key) as T | undefined, error: undefined };
  return { data: current.data, error: current.error, loading: current.loading, reload: run, mutate };
}

/** Re-renders every `ms` so relative times ("2 minutes ago") stay true. */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}
