import { ApiError, enc, errorMessage } from "../api/client";
import { keys } from "../api/keys";
import type { EventDetail, WebhookList } from "../api/types";
import { BodyView } from "../components/json-view";
import { PageError, Shell } from "../components/shell";
import { Skeleton } from "../components/spinner";
import { Time } from "../components/time";
import { useProjectFrame } from "../lib/project-frame";
import { Link } from "../lib/router";
import { useApi } from "../lib/queries";

const STATUS: Record<EventDetail["deliveries"][number]["status"], string> = {
  pending: "Pending",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** Why a webhook got no delivery (judged by its settings now). */
const REASON: Record<EventDetail["not_delivered"][number]["reason"], string> = {
  not_subscribed: "not subscribed",
  filtered: "filtered",
  disabled: "disabled",
  import: "import",
};

/** Where did this event go? The event (GET …/events/{id}) and each of its deliveries, by webhook. */
export function EventDetailPage({ eventId }: { eventId: string }) {
  const frame = useProjectFrame();
  // Polled: a pending delivery's status changes as its attempts are made.
  const res = useApi<EventDetail>(keys.event(frame.projectId, eventId), { poll: 5000 });
  const hooks = useApi<WebhookList>(keys.webhooks(frame.projectId));
  const crumbs = [...frame.crumbs, { label: "Webhooks", to: `${frame.base}/webhooks` }, { label: eventId }];
  const name = (id: string) => hooks.data?.data.find((w) => w.id === id)?.name ?? id;
  const e = res.data;

  if (res.error && !e) {
    const gone = res.error instanceof ApiError && res.error.status === 404;
    return (
      <Shell home={frame.home} crumbs={crumbs} scope={frame}>
        <PageError
          title={gone ? "Event not found" : undefined}
          message={gone ? "No stored event has this id. Events are kept for the log retention period." : errorMessage(res.error)}
          onRetry={gone ? undefined : () => void res.refetch()}
        />
      </Shell>
    );
  }
  return (
    <Shell home={frame.home} crumbs={crumbs} scope={frame}>
      {!e ? (
        <div className="card">
          <Skeleton lines={5} />
        </div>
      ) : (
        <>
          <div className="page-header">
            <div>
              <h1 className="mono">{e.event}</h1>
              <p className="muted small">
                <span className="mono">{e.id}</span> · published <Time iso={e.created_at} />
              </p>
            </div>
          </div>
          <section className="section" aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading" className="section-title">
              Deliveries
            </h2>
            {e.deliveries.length === 0 ? (
              <div className="card empty empty-small">
                <p className="muted">No webhook was subscribed to this event when it was published.</p>
              </div>
            ) : (
              <div className="card table-card">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Webhook</th>
                      <th scope="col">Status</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Trigger</th>
                    </tr>
                  </thead>
                  <tbody>
                    {e.deliveries.map((d) => (
                      <tr key={d.id}>
                        <td>
                          <Link to={`${frame.base}/webhooks/${enc(d.webhook_id)}`}>{name(d.webhook_id)}</Link>
                          <div className="muted small mono">{d.id}</div>
                        </td>
                        <td>{STATUS[d.status]}</td>
                        <td>{d.attempts}</td>
                        <td>{d.trigger}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          {e.not_delivered.length > 0 && (
            <section className="section" aria-labelledby="not-sent-heading">
              <h2 id="not-sent-heading" className="section-title">
                Not sent
              </h2>
              <ul className="card plain-list">
                {e.not_delivered.map((n) => (
                  <li key={n.webhook_id}>
                    Not sent to <Link to={`${frame.base}/webhooks/${enc(n.webhook_id)}`}>{name(n.webhook_id)}</Link>: {REASON[n.reason]}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section className="section" aria-labelledby="subject-heading">
            <h2 id="subject-heading" className="section-title">
              Subject
            </h2>
            <div className="card">
              <BodyView body={JSON.stringify(e.subject)} label="Subject" />
            </div>
          </section>
        </>
      )}
    </Shell>
  );
}
