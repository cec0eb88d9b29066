import { useId, useState } from "react";
import { enc, errorMessage } from "../api/client";
import { keys } from "../api/keys";
import type { LogEntry, LogEntryDetail } from "../api/types";
import { BodyView, CopyButton, HeadersView } from "../components/json-view";
import { CheckIcon, ChevronIcon, CrossIcon, RefreshIcon } from "../components/icons";
import { Skeleton } from "../components/spinner";
import { Time } from "../components/time";
import { useToast } from "../components/toast";
import { formatDuration } from "../lib/format";
import { useProjectFrame } from "../lib/project-frame";
import { useApi } from "../lib/queries";
import { Link } from "../lib/router";
import { useSession } from "../lib/session-context";

export function OutcomeIcon({ success }: { success: boolean }) {
  return (
    <span className={`outcome ${success ? "outcome-ok" : "outcome-fail"}`} role="img" aria-label={success ? "Succeeded" : "Failed"}>
      {success ? <CheckIcon size={14} /> : <CrossIcon size={14} />}
    </span>
  );
}

const TRIGGER_TEXT: Record<LogEntry["trigger"], string> = {
  event: "Triggered by an event",
  test: "Sent by Test",
  redeliver: "Sent by Redeliver",
  recover: "Sent by Recover",
};

function statusText(e: LogEntry): string {
  if (e.status_code !== null && e.status_code !== undefined) return String(e.status_code);
  return e.error ?? "No response";
}

/** One attempt: a summary line, and on demand the request and response. */
export function LogEntryRow({
  entry,
  projectId,
  fresh,
  canWrite,
  onRedelivered,
}: {
  entry: LogEntry;
  projectId: string;
  fresh: boolean;
  canWrite: boolean;
  onRedelivered: () => void;
}) {
  const [open, setOpen] = useState(false);
  const detailsId = useId();
  const status = statusText(entry);
  return (
    <li className={`log-entry${fresh ? " log-entry-fresh" : ""}${open ? " log-entry-open" : ""}`}>
      <div className="log-summary" onClick={(e) => !(e.target as HTMLElement).closest("button, a") && setOpen((o) => !o)}>
        <OutcomeIcon success={entry.success} />
        <span className="log-event">
          <span className="mono">{entry.event}</span>
          {entry.trigger === "redeliver" && <span className="chip chip-small">Redelivery</span>}
          {entry.trigger === "recover" && <span className="chip chip-small">Recovery</span>}
        </span>
        <span className="log-facts">
          <span className="log-attempt muted">Attempt {entry.attempt}</span>
          <span className={`log-status mono ${entry.success ? "text-success" : "text-danger"}`} title={entry.error ?? undefined}>
            {status}
          </span>
          <span className="log-duration muted">{formatDuration(entry.duration_ms)}</span>
          <Time iso={entry.created_at} className="log-time muted" />
        </span>
        <button
          type="button"
          className="icon-button log-toggle"
          aria-label="Show details"
          aria-expanded={open}
          aria-controls={detailsId}
          onClick={() => setOpen((o) => !o)}
        >
          <ChevronIcon className="chevron" />
        </button>
      </div>
      <div id={detailsId} className="log-details" hidden={!open}>
        {open && <LogDetails entry={entry} projectId={projectId} canWrite={canWrite} onRedelivered={onRedelivered} />}
      </div>
    </li>
  );
}

function LogDetails({ entry, projectId, canWrite, onRedelivered }: { entry: LogEntry; projectId: string; canWrite: boolean; onRedelivered: () => void }) {
  const { client } = useSession();
  const frame = useProjectFrame();
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const key = keys.log(projectId, entry.webhook_id, entry.id);
  const path = key[0];
  // An attempt never changes once written: one fetch per session.
  const { data: detail, error } = useApi<LogEntryDetail>(key, { staleTime: Infinity });

  async function redeliver() {
    setBusy(true);
    try {
      await client.post(`${path}/redeliver`);
      toast({ message: "Redelivery queued — it will appear at the top of the log" });
      onRedelivered();
    } catch (err) {
      toast({ message: `Could not redeliver: ${errorMessage(err)}`, tone: "error" });
    }
    setBusy(false);
  }

  if (error)
    return (
      <p className="form-error" role="alert">
        Could not load this attempt: {errorMessage(error)}
      </p>
    );
  if (!detail) return <Skeleton lines={4} />;
  const req = detail.request;
  const res = detail.response;
  return (
    <>
      <div className="log-meta small">
        <span>
          Delivery <code>{detail.delivery_id}</code>
          <CopyButton text={detail.delivery_id} label="Copy delivery ID" />
        </span>
        {detail.event_id && (
          <span>
            Event{" "}
            <Link to={`${frame.base}/events/${enc(detail.event_id)}`} className="mono" title="Where this event went: every delivery of it">
              {detail.event_id}
            </Link>
          </span>
        )}
        <span className="muted">{TRIGGER_TEXT[detail.trigger]}</span>
        {canWrite && (
          <button type="button" className="button button-small log-redeliver" onClick={redeliver} disabled={busy}>
            <RefreshIcon size={14} /> Redeliver
          </button>
        )}
      </div>
      <div className="log-panes">
        <section className="pane">
          <h3 className="pane-title">Request</h3>
          <p className="mono request-line">
            <strong>{req?.method ?? "POST"}</strong> <span className="break">{req?.url}</span>
          </p>
          <h4 className="pane-sub">Headers</h4>
          <HeadersView headers={req?.headers} />
          <h4 className="pane-sub">Body</h4>
          <BodyView body={req?.body} label="request body" />
        </section>
        <section className="pane">
          <h3 className="pane-title">Response</h3>
          {res ? (
            <>
              <p className="mono request-line">
                <span className={res.status >= 200 && res.status < 300 ? "text-success" : "text-danger"}>
                  <strong>Status {res.status}</strong>
                </span>{" "}
                <span className="muted">· {formatDuration(detail.duration_ms)}</span>
              </p>
              <h4 className="pane-sub">Headers</h4>
              <HeadersView headers={res.headers} />
              <h4 className="pane-sub">Body</h4>
              {res.truncated && <p className="notice notice-info small">Only the first 64 KiB of the body was kept.</p>}
              <BodyView body={res.body} label="response body" />
            </>
          ) : (
            <p className="notice notice-danger small">No response{detail.error ? `: ${detail.error}` : ""}.</p>
          )}
        </section>
      </div>
    </>
  );
}
