import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { errorMessage } from "../api/client";
import { apiPath, keys } from "../api/keys";
import type { LogEntry, LogPage } from "../api/types";
import { RefreshIcon } from "../components/icons";
import { Skeleton } from "../components/spinner";
import { useEventTypes } from "../lib/event-types";
import { useSession } from "../lib/session-context";
import { useApi, usePageVisible } from "../lib/queries";
import { LogEntryRow } from "./log-entry";

const PAGE = 25;

/** A datetime-local value (the user's zone) as an ISO instant; `end` makes a minute-precise "To" include its whole minute. */
function localToIso(value: string, end = false): string {
  const ms = new Date(value).getTime();
  if (!Number.isFinite(ms)) return value; // the server names the bad parameter
  const withSeconds = /T\d{2}:\d{2}:\d{2}/.test(value);
  return new Date(end && !withSeconds ? ms + 59_999 : ms).toISOString();
}

function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setCurrent(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return current;
}
const POLL_MS = 1000;

function newestFirst(a: LogEntry, b: LogEntry) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

interface LogState {
  entries: LogEntry[];
  cursor: string | null;
  loaded: boolean;
  error: string | null;
}

/**
 * The delivery log: newest first, polled every second while the tab is visible (new attempts slide
 * in at the top), older pages on scroll or with Load more. Entries never change once written, so
 * merging by id is enough.
 */
export function DeliveryLog(props: { projectId: string; webhookId: string; events: string[]; onNewest: (id: string | null) => void }) {
  const { projectId, webhookId, events, onNewest } = props;
  const { client, canWrite } = useSession();
  const [success, setSuccess] = useState<"" | "true" | "false">("");
  const [event, setEvent] = useState("");
  const [statusCode, setStatusCode] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [eventId, setEventId] = useState("");
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  // Typed filters apply once the typing pauses, not on every keystroke.
  const typed = useDebounced(`${statusCode}\u0000${eventId}`, 400).split("\u0000");
  const [state, setState] = useState<LogState>({ entries: [], cursor: null, loaded: false, error: null });
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [refreshing, setRefreshing] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const catalog = useEventTypes().types ?? [];
  const visible = usePageVisible();
  const filter = {
    limit: PAGE,
    success,
    event,
    status_code: typed[0].trim(),
    from: from && localToIso(from),
    to: to && localToIso(to, true),
    event_id: typed[1].trim(),
  };
  const filterKey = JSON.stringify(filter);
  // The filter object is rebuilt on every render; its JSON is the stable dependency.
  const key = useMemo(() => keys.logs(projectId, webhookId, filter), [projectId, webhookId, filterKey]); // eslint-disable-line react-hooks/exhaustive-deps
  // The newest page, polled while the tab is visible; older pages are kept in `state` below.
  const newestPage = useApi<LogPage>(key, { poll: POLL_MS });
  const page = newestPage.data;
  const query = JSON.stringify(key);
  const queryRef = useRef(query);
  queryRef.current = query;
  const stateRef = useRef(state);
  stateRef.current = state;

  function markFresh(ids: string[]) {
    setFresh((f) => new Set([...f, ...ids]));
    window.setTimeout(() => setFresh((f) => new Set([...f].filter((id) => !ids.includes(id)))), 2500);
  }

  // Start over when the webhook or the filters change.
  useEffect(() => {
    const empty = { entries: [], cursor: null, loaded: false, error: null };
    stateRef.current = empty;
    setState(empty);
    setFresh(new Set());
  }, [query]);

  // Merge each new answer for the newest page in.
  useEffect(() => {
    if (!page) return;
    const s = stateRef.current;
    let next: LogState;
    let added: LogEntry[] = [];
    if (!s.loaded) {
      next = { entries: page.data, cursor: page.next_cursor, loaded: true, error: null };
    } else {
      const known = new Set(s.entries.map((e) => e.id));
      added = page.data.filter((e) => !known.has(e.id));
      if (added.length === 0) next = s.error ? { ...s, error: null } : s;
      // A whole page of news means there may be a gap: start over from this page.
      else if (added.length === page.data.length && page.next_cursor) next = { entries: page.data, cursor: page.next_cursor, loaded: true, error: null };
      else next = { ...s, entries: [...added, ...s.entries].sort(newestFirst), error: null };
    }
    if (next !== s) {
      stateRef.current = next;
      setState(next);
    }
    if (added.length) markFresh(added.map((e) => e.id));
  }, [page, query]);

  const pollError = newestPage.error ? errorMessage(newestPage.error) : null;
  const error = pollError ?? state.error;
  const loaded = state.loaded || !!pollError;
  const pollOnce = newestPage.refetch;

  const newest = state.entries[0]?.id ?? null;
  useEffect(() => onNewest(newest), [newest, onNewest]);

  async function refresh() {
    setRefreshing(true);
    await pollOnce();
    setRefreshing(false);
  }

  const loadingMoreRef = useRef(false);
  const loadMore = useCallback(async () => {
    const s = stateRef.current;
    if (!s.cursor || loadingMoreRef.current) return;
    loadingMoreRef.current = true;
    setLoadingMore(true);
    const forQuery = queryRef.current;
    try {
      const page = await client.get<LogPage>(apiPath([key[0], { ...key[1], cursor: s.cursor }]));
      if (forQuery === queryRef.current) {
        const cur = stateRef.current;
        const known = new Set(cur.entries.map((e) => e.id));
        const next = { ...cur, entries: [...cur.entries, ...page.data.filter((e) => !known.has(e.id))].sort(newestFirst), cursor: page.next_cursor };
        stateRef.current = next;
        setState(next);
      }
    } catch (err) {
      setState((cur) => ({ ...cur, error: errorMessage(err) }));
    }
    loadingMoreRef.current = false;
    setLoadingMore(false);
  }, [client, key]);

  // Infinite scroll: loading the next page when the end of the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !state.cursor) return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadMore(), { rootMargin: "200px" });
    io.observe(el);
    return () => io.disconnect();
  }, [state.cursor, loadMore]);

  const eventOptions = [...new Set([...events, "test-event", ...catalog.map((c) => c.name)])];
  const filtered = Object.keys(key[1]).some((name) => name !== "limit");

  /** Downloads the log with the filters shown (GET …/logs/export) as an NDJSON file. */
  async function exportLog() {
    setExporting(true);
    setExportError(null);
    try {
      const { limit: _limit, ...filters } = key[1];
      const blob = await client.download(apiPath([`${key[0]}/export`, filters]));
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `${webhookId}-log.ndjson`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setExportError(errorMessage(err));
    }
    setExporting(false);
  }

  return (
    <section className="section" aria-labelledby="log-heading">
      <div className="section-head">
        <h2 id="log-heading" className="section-title">
          Log
        </h2>
        <span
          className={`live${visible ? "" : " live-paused"}`}
          title={visible ? "New attempts appear here as they happen" : "Paused while this tab is in the background"}
        >
          <span className="live-dot" aria-hidden="true" />
          {visible ? "Live" : "Paused"}
        </span>
        <div className="section-tools">
          <label className="visually-hidden" htmlFor="log-filter-outcome">
            Outcome
          </label>
          <select id="log-filter-outcome" className="select-small" value={success} onChange={(e) => setSuccess(e.target.value as "" | "true" | "false")}>
            <option value="">All outcomes</option>
            <option value="true">Succeeded only</option>
            <option value="false">Failed only</option>
          </select>
          <label className="visually-hidden" htmlFor="log-filter-event">
            Event type
          </label>
          <select id="log-filter-event" className="select-small" value={event} onChange={(e) => setEvent(e.target.value)}>
            <option value="">All events</option>
            {eventOptions.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <button type="button" className="button button-small" onClick={refresh} disabled={refreshing}>
            <RefreshIcon size={14} className={refreshing ? "spin" : undefined} /> Refresh
          </button>
          <button type="button" className="button button-small" onClick={exportLog} disabled={exporting} aria-busy={exporting || undefined}>
            {exporting && <span className="spinner spinner-inline" aria-hidden="true" />}
            Export
          </button>
        </div>
      </div>
      <div className="log-filters">
        <label className="log-filter">
          <span>Status code</span>
          <input className="input-small mono" value={statusCode} onChange={(e) => setStatusCode(e.target.value)} placeholder="e.g. 503 or 5xx" size={10} />
        </label>
        <label className="log-filter">
          <span>From</span>
          <input className="input-small" type="datetime-local" step={1} value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="log-filter">
          <span>To</span>
          <input className="input-small" type="datetime-local" step={1} value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label className="log-filter log-filter-wide">
          <span>Event ID</span>
          <input className="input-small mono" value={eventId} onChange={(e) => setEventId(e.target.value)} placeholder="evt_…" spellCheck={false} />
        </label>
      </div>
      {exportError && (
        <p className="notice notice-warning small" role="alert">
          Could not export the log: {exportError}
        </p>
      )}

      {error && (
        <p className="notice notice-warning small" role="status">
          {loaded && state.entries.length ? "Live updates are failing: " : "Could not load the log: "}
          {error}
        </p>
      )}

      {!loaded ? (
        <div className="card">
          <Skeleton lines={4} />
        </div>
      ) : state.entries.length === 0 ? (
        <div className="card empty empty-small">
          <h3>{filtered ? "No matching attempts" : "No deliveries yet"}</h3>
          <p className="muted">
            {filtered
              ? "No attempt in the last 14 days matches these filters."
              : "Attempts show up here within a second of being made. Publish an event this webhook subscribes to, or send one with Test."}
          </p>
        </div>
      ) : (
        <ol className="log-list card" aria-labelledby="log-heading">
          {state.entries.map((e) => (
            <LogEntryRow key={e.id} entry={e} projectId={projectId} fresh={fresh.has(e.id)} canWrite={canWrite} onRedelivered={() => void pollOnce()} />
          ))}
        </ol>
      )}

      {state.cursor && (
        <div className="load-more" ref={sentinel}>
          <button type="button" className="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore && <span className="spinner spinner-inline" aria-hidden="true" />}
            Load more
          </button>
        </div>
      )}
      {state.loaded && !state.cursor && state.entries.length > PAGE && <p className="muted small center">That’s everything from the last 14 days.</p>}
    </section>
  );
}
