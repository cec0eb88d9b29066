/**
 * The delivery policies of a webhook (docs/delivery-policies.md) as form fields: `Filter` with
 * `Try filter` (asks the API whether the event type's example matches), `Rate limit (per second)`
 * and `Ordered delivery`. Used by the Add dialog and the detail page's Edit form, inside `Advanced`.
 */
import { useId, useState } from "react";
import { ApiError, enc, errorMessage } from "../api/client";
import type { Webhook, WebhookInput } from "../api/types";
import { FieldError, Switch } from "../components/form-bits";
import { useSession } from "../lib/session-context";

export interface PolicyDraft {
  filter: string;
  rate: string;
  fifo: boolean;
}
export type PolicyErrors = Partial<Record<"filter" | "rate_limit" | "ordering", string>>;

export const policyDraft = (w?: Webhook): PolicyDraft => ({
  filter: w?.filter ? JSON.stringify(w.filter, null, 2) : "",
  rate: w?.rate_limit ? String(w.rate_limit.per_second) : "",
  fifo: w?.ordering === "fifo",
});

/** The request fields of a draft (an empty field removes its option), or the errors found before asking the server. */
export function policyBody(d: PolicyDraft): { body: Partial<WebhookInput>; errors: PolicyErrors } {
  const errors: PolicyErrors = {};
  let filter: unknown = null;
  if (d.filter.trim() !== "") {
    try {
      filter = JSON.parse(d.filter);
    } catch {
      errors.filter = 'The filter is not valid JSON. Example: {"subject.status": "failed"}';
    }
  }
  const rate = d.rate.trim() === "" ? null : Number(d.rate);
  if (rate !== null && !Number.isFinite(rate)) errors.rate_limit = "Enter a number of deliveries per second, e.g. 5, or leave it empty for no limit.";
  const body = { filter, rate_limit: rate === null ? null : { per_second: rate }, ordering: d.fifo ? "fifo" : "none" } as Partial<WebhookInput>;
  return { body, errors };
}

/** The server's messages for these fields, each with the path it names (e.g. `filter.subject.status.$gtx`). */
export function policyErrors(err: unknown): PolicyErrors {
  const out: PolicyErrors = {};
  if (!(err instanceof ApiError)) return out;
  for (const d of err.details) {
    const key = d.field.split(".")[0] as keyof PolicyErrors;
    if (key !== "filter" && key !== "rate_limit" && key !== "ordering") continue;
    const text = d.field === key ? d.message : `${d.field}: ${d.message}`;
    out[key] = out[key] ? `${out[key]} ${text}` : text;
  }
  return out;
}

export function DeliveryPolicyFields({
  projectId,
  draft,
  onChange,
  errors,
  events,
}: {
  projectId: string;
  draft: PolicyDraft;
  onChange: (d: PolicyDraft) => void;
  errors: PolicyErrors;
  /** The event types the webhook subscribes to: `Try filter` matches the first one's example. */
  events: string[];
}) {
  const { client } = useSession();
  const id = useId();
  const [tried, setTried] = useState<{ tone: "ok" | "no" | "error"; text: string } | null>(null);

  async function tryFilter() {
    const event = events[0];
    if (!event) return setTried({ tone: "error", text: "Choose an event type first: the filter is tried on its example." });
    let filter: unknown;
    try {
      filter = JSON.parse(draft.filter || "{}");
    } catch {
      return setTried({ tone: "error", text: "The filter is not valid JSON." });
    }
    try {
      const res = await client.post<{ matches: boolean }>(`/projects/${enc(projectId)}/webhooks/filter-test`, { event, filter });
      setTried(
        res.matches
          ? { tone: "ok", text: `Matches the example of ${event}: such an event would be sent.` }
          : { tone: "no", text: `Does not match the example of ${event}: such an event would not be sent.` },
      );
    } catch (err) {
      const e = policyErrors(err).filter;
      setTried({ tone: "error", text: e ?? errorMessage(err) });
    }
  }

  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-filter`}>Filter</label>
        <textarea
          id={`${id}-filter`}
          className="mono"
          rows={4}
          spellCheck={false}
          value={draft.filter}
          placeholder='Optional, e.g. {"subject.status": "failed"}'
          onChange={(e) => (onChange({ ...draft, filter: e.target.value }), setTried(null))}
          aria-invalid={errors.filter ? true : undefined}
          aria-describedby={`${id}-filter-hint${errors.filter ? ` ${id}-filter-error` : ""}`}
        />
        <div className="input-with-button">
          <button type="button" className="button" onClick={() => void tryFilter()}>
            Try filter
          </button>
          {tried && (
            <span role="status" className={tried.tone === "error" ? "warning-text" : "muted small"}>
              {tried.text}
            </span>
          )}
        </div>
        <p className="hint" id={`${id}-filter-hint`}>
          Only events whose delivery body matches this MongoDB-style query are sent: <code>$eq $ne $gt $gte $lt $lte $in $nin $exists $regex</code>,{" "}
          <code>$and $or $nor $not</code>, dotted paths like <code>subject.status</code>.
        </p>
        <FieldError id={`${id}-filter-error`} message={errors.filter} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-rate`}>Rate limit (per second)</label>
        <input
          id={`${id}-rate`}
          type="number"
          min={0.01}
          max={1000}
          step="any"
          value={draft.rate}
          placeholder="No limit"
          onChange={(e) => onChange({ ...draft, rate: e.target.value })}
          aria-invalid={errors.rate_limit ? true : undefined}
          aria-describedby={`${id}-rate-hint${errors.rate_limit ? ` ${id}-rate-error` : ""}`}
        />
        <p className="hint" id={`${id}-rate-hint`}>
          At most this many attempts start per second (0.01 to 1000), retries included, across all workers. Deliveries wait; none is dropped.
        </p>
        <FieldError id={`${id}-rate-error`} message={errors.rate_limit} />
      </div>
      <div className="field">
        <Switch
          label="Ordered delivery"
          checked={draft.fifo}
          onChange={(e) => onChange({ ...draft, fifo: e.target.checked })}
          error={errors.ordering}
          hint="One delivery at a time, in the order events were published. A failing delivery holds back the ones behind it until its retries end."
        />
      </div>
    </>
  );
}
