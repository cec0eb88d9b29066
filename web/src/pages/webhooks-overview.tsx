import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { enc, errorMessage } from "../api/client";
import { keys, samePath } from "../api/keys";
import type { Webhook, WebhookList } from "../api/types";
import { EventChips } from "../components/event-chips";
import { AlertIcon, ArrowRightIcon, CheckIcon, CrossIcon, PlusIcon, WebhookIcon } from "../components/icons";
import { PageError, Shell } from "../components/shell";
import { Skeleton } from "../components/spinner";
import { StatusBadge } from "../components/status-badge";
import { Time } from "../components/time";
import { useToast } from "../components/toast";
import { useProjectFrame } from "../lib/project-frame";
import { Link, navigate } from "../lib/router";
import { useSession } from "../lib/session-context";
import { useApi } from "../lib/queries";
import { AddWebhookDialog } from "./add-webhook-dialog";

export function WebhooksOverview() {
  const { canWrite } = useSession();
  const frame = useProjectFrame();
  const toast = useToast();
  const queryClient = useQueryClient();
  const key = keys.webhooks(frame.projectId, { lastDelivery: true });
  const res = useApi<WebhookList>(key, { poll: 5000 });
  const [adding, setAdding] = useState(false);
  const [fresh, setFresh] = useState<string | null>(null);
  const list = res.data;

  return (
    <Shell home={frame.home} crumbs={[...frame.crumbs, { label: "Webhooks" }]} scope={frame}>
      <div className="page-header">
        <div>
          <h1>Webhooks</h1>
          <p className="muted">Hookline sends this project’s events to these endpoints as signed JSON POST requests.</p>
        </div>
        {canWrite && (
          <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
            <PlusIcon /> Add Webhook
          </button>
        )}
      </div>

      {list && <ActiveMeter count={list.active_count} limit={list.active_limit} canWrite={canWrite} />}

      {res.error && !list ? (
        <PageError message={errorMessage(res.error)} onRetry={() => void res.refetch()} />
      ) : !list ? (
        <div className="card">
          <Skeleton lines={4} />
        </div>
      ) : list.data.length === 0 ? (
        <div className="card empty">
          <div className="empty-icon" aria-hidden="true">
            <WebhookIcon size={28} />
          </div>
          <h2>No webhooks yet</h2>
          <p className="muted">
            {canWrite
              ? "Add a webhook to have Hookline POST this project’s events to your endpoint, signed and retried until it answers."
              : "Nobody has added a webhook to this project yet."}
          </p>
        </div>
      ) : (
        <WebhookTable hooks={list.data} base={frame.base} fresh={fresh} />
      )}

      {adding && list && (
        <AddWebhookDialog
          projectId={frame.projectId}
          activeCount={list.active_count}
          activeLimit={list.active_limit}
          onClose={() => setAdding(false)}
          onAdded={(w) => {
            setAdding(false);
            setFresh(w.id);
            queryClient.setQueryData<WebhookList>(
              key,
              (d) =>
                d && {
                  ...d,
                  data: [...d.data.filter((x) => x.id !== w.id), w],
                  active_count: d.active_count + (w.enabled ? 1 : 0),
                },
            );
            void queryClient.invalidateQueries({ queryKey: samePath(key) });
            toast({
              message: w.enabled ? "Webhook added" : "Webhook added, switched off",
              action: { label: "Open", run: () => navigate(`${frame.base}/webhooks/${enc(w.id)}`) },
            });
          }}
        />
      )}
    </Shell>
  );
}

/** "N of 5 active", and where the limit bites, what to do about it. */
function ActiveMeter({ count, limit, canWrite }: { count: number; limit: number; canWrite: boolean }) {
  const full = count >= limit;
  return (
    <div className={`active-meter${full ? " active-meter-full" : ""}`}>
      <div className="meter-bar" aria-hidden="true">
        {Array.from({ length: Math.min(limit, 20) }, (_, i) => (
          <span key={i} className={i < count ? "meter-slot meter-slot-on" : "meter-slot"} />
        ))}
      </div>
      <span className="meter-text">{`${count} of ${limit} active`}</span>
      {full && canWrite && (
        <span className="meter-note">
          <AlertIcon size={14} /> The limit is reached. New webhooks can still be added switched off; to make room, turn one off or delete it.
        </span>
      )}
    </div>
  );
}

function WebhookTable({ hooks, base, fresh }: { hooks: Webhook[]; base: string; fresh: string | null }) {
  return (
    <div className="card table-card">
      <table className="table webhook-table" role="table">
        <thead role="rowgroup">
          <tr role="row">
            <th role="columnheader" scope="col">
              Name
            </th>
            <th role="columnheader" scope="col">
              URL
            </th>
            <th role="columnheader" scope="col">
              Events
            </th>
            <th role="columnheader" scope="col">
              Status
            </th>
            <th role="columnheader" scope="col">
              Last delivery
            </th>
            <th role="columnheader" scope="col">
              <span className="visually-hidden">Open</span>
            </th>
          </tr>
        </thead>
        <tbody role="rowgroup">
          {hooks.map((w) => {
            const href = `${base}/webhooks/${enc(w.id)}`;
            return (
              <tr role="row" key={w.id} className={w.id === fresh ? "row-fresh" : undefined} onClick={(e) => rowClick(e, href)}>
                <td role="cell" className="cell-name" data-label="Name">
                  <Link to={href} className="row-title">
                    {w.name}
                  </Link>
                </td>
                <td role="cell" className="cell-url" data-label="URL">
                  <span className="mono truncate" title={w.url}>
                    {w.url}
                  </span>
                </td>
                <td role="cell" className="cell-events" data-label="Events">
                  <EventChips events={w.events} />
                </td>
                <td role="cell" className="cell-status" data-label="Status">
                  <StatusBadge webhook={w} />
                </td>
                <td role="cell" className="cell-last" data-label="Last delivery">
                  <LastDelivery w={w} />
                </td>
                <td role="cell" className="cell-open">
                  <Link to={href} className="icon-button" aria-label={`Open ${w.name}`}>
                    <ArrowRightIcon />
                  </Link>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The whole row is a mouse target too; keyboard users have the two links. */
function rowClick(e: React.MouseEvent, href: string) {
  const target = e.target as HTMLElement;
  if (target.closest("a, button, input") || window.getSelection()?.toString()) return;
  navigate(href);
}

function LastDelivery({ w }: { w: Webhook }) {
  const d = w.last_delivery;
  if (!d) return <span className="muted">No deliveries yet</span>;
  return (
    <span className={`last-delivery ${d.success ? "text-success" : "text-danger"}`}>
      {d.success ? <CheckIcon size={14} /> : <CrossIcon size={14} />}
      <span className="visually-hidden">{d.success ? "Succeeded" : "Failed"}</span>
      {d.status_code !== null && <span className="mono">{d.status_code}</span>}
      <Time iso={d.created_at} relative className="muted" />
    </span>
  );
}
