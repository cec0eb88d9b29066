/**
 * The UI's server state, on TanStack Query. Each session (admin token, portal link) gets its own
 * QueryClient, so signing out forgets every cached answer.
 *
 * Reading: `const q = useApi<Webhook>(keys.webhook(projectId, id), { poll: 5000 })`. The key is the
 * request (api/keys.ts), so no fetch function is needed. `q.data` keeps the last good answer while
 * it is fetched again, `q.error` the last failure, `q.isPending` is true until a first answer,
 * `q.refetch()` fetches now. `poll` refetches every so often while the tab is visible (TanStack
 * skips intervals in a background tab) and at once when the tab comes back.
 *
 * Writing: `useMutation({ mutationFn, onSuccess })`; in `onSuccess`, patch what the screen shows with
 * `qc.setQueryData(key, …)` (or `qc.setQueriesData({ queryKey: samePath(key) }, …)` for every variant
 * of a path), then `qc.invalidateQueries({ queryKey: samePath(key) })` so it is fetched again.
 *
 * Porting a page from the old `useResource(key, load, pollMs)`: `useApi<T>(keys.x(…), { poll: pollMs })`;
 * `loading` → `isPending`, `reload()` → `refetch()`, `mutate(fn)` → `qc.setQueryData(key, fn)`,
 * `updateCached(key, fn)` → `qc.setQueriesData({ queryKey: samePath(key) }, fn)`.
 */
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { useMemo, useSyncExternalStore, type ReactNode } from "react";
import type { ApiClient } from "../api/client";
import { apiPath, type ApiKey } from "../api/keys";

export function ApiQueries({ client, children }: { client: ApiClient; children: ReactNode }) {
  const queryClient = useMemo(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            queryFn: ({ queryKey, signal }) => client.get(apiPath(queryKey as unknown as ApiKey), signal),
            // Errors show at once (a 404 is an answer, not a hiccup); the next poll is the retry.
            retry: false,
            refetchOnWindowFocus: false,
            refetchOnReconnect: false,
          },
        },
      }),
    [client],
  );
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}

export function useApi<T>(key: ApiKey, opts: { poll?: number; staleTime?: number } = {}) {
  return useQuery<T>({ queryKey: key, refetchInterval: opts.poll, refetchOnWindowFocus: !!opts.poll, staleTime: opts.staleTime });
}

function subscribeVisibility(cb: () => void) {
  document.addEventListener("visibilitychange", cb);
  return () => document.removeEventListener("visibilitychange", cb);
}

export function usePageVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => document.visibilityState === "visible");
}
