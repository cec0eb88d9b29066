import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { ApiError, errorMessage } from "../api/client";
import { keys, samePath } from "../api/keys";
import type { Webhook, WebhookInput, WebhookList } from "../api/types";
import { ConfirmDialog } from "../components/dialog";
import { AlertIcon, DotsIcon, SendIcon } from "../components/icons";
import { MenuButton } from "../components/menu";
import { PageError, Shell } from "../components/shell";
import { Skeleton } from "../components/spinner";
import { StatusBadge } from "../components/status-badge";
import { Time } from "../components/time";
import { useToast } from "../components/toast";
import { useProjectFrame } from "../lib/project-frame";
import { navigate } from "../lib/router";
import { useSession } from "../lib/session-context";
import { useApi } from "../lib/queries";
import { DeliveryChart } from "./delivery-chart";
import { DeliveryLog } from "./delivery-log";
import { RecoverDialog } from "./recover-dialog";
import { SigningKeyDialog } from "./signing-key-dialog";
import { WebhookFields } from "./webhook-fields";
import { AdvancedEditor } from "./advanced-editor";
import { CertificateExpiry } from "./certificate-expiry";

type Confirm = null | "test" | "disable" | "enable" | "delete" | "signing-key" | "recover";

export function WebhookDetail({ webhookId }: { webhookId: string }) {
  const { client, canWrite } = useSession();
  const frame = useProjectFrame();
  const toast = useToast();
  const queryClient = useQueryClient();
  const key = keys.webhook(frame.projectId, webhookId);
  const lists = samePath(keys.webhooks(frame.projectId));
  const path = key[0];
  const res = useApi<Webhook>(key, { poll: 5000 });
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [limit, setLimit] = useState<{ count: number; limit: number } | null>(null);
  /** Recover's start: chosen by the user, or offered after enabling a webhook disabled after failures. */
  const [recoverFrom, setRecoverFrom] = useState<{ since: string | null; offered: boolean }>({ since: null, offered: false });
  const [newest, setNewest] = useState<string | null>(null);
  const onNewest = useCallback((id: string | null) => setNewest(id), []);
  const w = res.data;
  const overview = `${frame.base}/webhooks`;
  const crumbs = [...frame.crumbs, { label: "Webhooks", to: overview }];

  function setWebhook(u: Webhook) {
    queryClient.setQueryData(key, u);
    // Keep the cached lists in step, so going back shows the change at once.
    queryClient.setQueriesData<WebhookList>({ queryKey: lists }, (l) => {
      const before = l?.data.find((x) => x.id === u.id);
      if (!l || !before) return l;
      return {
        ...l,
        data: l.data.map((x) => (x.id === u.id ? { ...u, last_delivery: x.last_delivery } : x)),
        active_count: l.active_count + (u.enabled === before.enabled ? 0 : u.enabled ? 1 : -1),
      };
    });
  }
  const patch = useMutation({
    mutationFn: (body: Partial<WebhookInput>) => client.patch<Webhook>(path, body),
    onSuccess: (updated) => {
      setWebhook(updated);
      void queryClient.invalidateQueries({ queryKey: lists });
    },
  });
  const remove = useMutation({
    mutationFn: () => client.del(path),
    onSuccess: () =>
      queryClient.setQueriesData<WebhookList>({ queryKey: lists }, (l) => {
        const gone = l?.data.find((x) => x.id === webhookId);
        return l && gone ? { ...l, data: l.data.filter((x) => x !== gone), active_count: l.active_count - (gone.enabled ? 1 : 0) } : l;
      }),
  });

  const gone = res.error instanceof ApiError && res.error.status === 404;
  // A 404 on a later poll means it was deleted meanwhile (another tab, another admin).
  if (res.error && (!w || gone)) {
    return (
      <Shell home={frame.home} crumbs={[...crumbs, { label: gone ? "Not found" : "Error" }]} scope={frame}>
        <PageError
          title={gone ? "Webhook not found" : undefined}
          message={gone ? "This webhook does not exist any more — it may have been deleted." : errorMessage(res.error)}
          onRetry={gone ? undefined : () => void res.refetch()}
        />
      </Shell>
    );
  }

  const setEnabled = (enabled: boolean) => patch.mutateAsync({ enabled });

  async function openEnable() {
    setLimit(null);
    setConfirm("enable");
    try {
      const list = await queryClient.fetchQuery<WebhookList>({ queryKey: keys.webhooks(frame.projectId) });
      setLimit({ count: list.active_count, limit: list.active_limit });
    } catch {
      // The dialog works without the numbers; the server still enforces the limit.
    }
  }

  return (
    <Shell home={frame.home} crumbs={[...crumbs, { label: w?.name ?? "…" }]} scope={frame}>
      {!w ? (
        <div className="card">
          <Skeleton lines={5} />
        </div>
      ) : (
        <>
          <div className="page-header detail-header">
            <div className="detail-title">
              <h1>{w.name}</h1>
              <StatusBadge webhook={w} />
            </div>
            {canWrite && (
              <div className="header-actions">
                <button type="button" className="button" onClick={() => setConfirm("test")}>
                  <SendIcon size={15} /> Test
                </button>
                <MenuButton
                  label="More actions"
                  icon={<DotsIcon size={18} />}
                  className="icon-button icon-button-bordered"
                  items={[
                    w.enabled ? { label: "Disable", onSelect: () => setConfirm("disable") } : { label: "Enable", onSelect: () => void openEnable() },
                    ...(w.enabled ? [{ label: "Recover", onSelect: () => (setRecoverFrom({ since: null, offered: false }), setConfirm("recover")) }] : []),
                    { label: "Signing key", onSelect: () => setConfirm("signing-key") },
                    { label: "Delete", tone: "danger", onSelect: () => setConfirm("delete") },
                  ]}
                />
              </div>
            )}
          </div>

          {!w.enabled && (
            <div className={`notice ${w.disabled_reason === "failures" || w.disabled_reason === "gone" ? "notice-danger" : "notice-neutral"}`}>
              <AlertIcon size={16} />
              <span>
                {w.disabled_reason === "gone" ? (
                  <>
                    Hookline turned this webhook off {w.disabled_at && <Time iso={w.disabled_at} relative />} because the endpoint answered{" "}
                    <code>410 Gone</code>. Point it at a live URL, then turn it back on from More actions.
                  </>
                ) : w.disabled_reason === "failures" ? (
                  <>
                    Hookline turned this webhook off {w.disabled_at && <Time iso={w.disabled_at} relative />} because every retry of a delivery failed. Fix the
                    endpoint, check it with Test, then turn it back on from More actions.
                  </>
                ) : (
                  <>
                    Switched off {w.disabled_at && <Time iso={w.disabled_at} relative />}: nothing is sent until it is turned back on, and events published
                    meanwhile are not delivered later.
                  </>
                )}
              </span>
            </div>
          )}

          <CertificateExpiry webhook={w} />

          <div className="detail-grid">
            <section className="card" aria-labelledby="settings-heading">
              <div className="card-head">
                <h2 id="settings-heading" className="card-title">
                  Settings
                </h2>
                <span className="muted small">
                  Created <Time iso={w.created_at} />
                </span>
              </div>
              <WebhookFields webhook={w} path={path} patch={patch.mutateAsync} />
              <AdvancedEditor webhook={w} projectId={frame.projectId} patch={patch.mutateAsync} />
            </section>
            <DeliveryChart statsKey={keys.stats(frame.projectId, webhookId, 24)} refreshKey={newest} />
          </div>

          <DeliveryLog projectId={frame.projectId} webhookId={webhookId} events={w.events} onNewest={onNewest} />

          {confirm === "recover" && (
            <RecoverDialog
              webhook={w}
              path={path}
              since={recoverFrom.since}
              offered={recoverFrom.offered}
              onClose={() => setConfirm(null)}
              onQueued={(n) => {
                setConfirm(null);
                toast({
                  message:
                    n === 0
                      ? "Nothing to recover: every event was delivered or is queued"
                      : `${n} ${n === 1 ? "delivery" : "deliveries"} queued — watch the log`,
                });
              }}
            />
          )}
          {confirm === "signing-key" && (
            <SigningKeyDialog webhook={w} path={path} onClose={() => setConfirm(null)} onChanged={async () => setWebhook(await client.get<Webhook>(path))} />
          )}
          {confirm === "test" && (
            <ConfirmDialog
              title="Send a test event"
              confirmLabel="Test"
              description={
                <p>
                  Hookline sends one <code>test-event</code> delivery to <span className="mono break">{w.url}</span>
                  {w.enabled ? "" : ", even though the webhook is switched off"}. It is attempted once, without retries, and never disables the webhook. The
                  result appears in the log below.
                </p>
              }
              onClose={() => setConfirm(null)}
              onConfirm={async () => {
                await client.post(`${path}/test`);
                setConfirm(null);
                toast({ message: "Test event queued — watch the log" });
              }}
            />
          )}
          {confirm === "disable" && (
            <ConfirmDialog
              title="Disable webhook"
              confirmLabel="Disable"
              description={
                <p>
                  Stop sending events to <strong>{w.name}</strong>? Pending retries are cancelled, and events published while it is off are never sent. You can
                  enable it again at any time.
                </p>
              }
              onClose={() => setConfirm(null)}
              onConfirm={async () => {
                await setEnabled(false);
                setConfirm(null);
                toast({
                  message: "Sending stopped",
                  action: {
                    label: "Undo",
                    run: async () => {
                      try {
                        await setEnabled(true);
                        toast({ message: "Sending resumed", tone: "info" });
                      } catch (err) {
                        toast({ message: `Could not enable it again: ${errorMessage(err)}`, tone: "error" });
                      }
                    },
                  },
                });
              }}
            />
          )}
          {confirm === "enable" && (
            <ConfirmDialog
              title="Enable webhook"
              confirmLabel="Enable"
              description={
                <p>
                  Start sending events to <strong>{w.name}</strong> again? Only events published from now on are delivered.
                </p>
              }
              onClose={() => setConfirm(null)}
              onConfirm={async () => {
                const wasFailing = w.disabled_reason === "failures" ? w.disabled_at : null;
                await setEnabled(true);
                toast({ message: "Sending resumed" });
                // Back on after failures: offer to resend what it missed since it was turned off.
                if (wasFailing) {
                  setRecoverFrom({ since: wasFailing, offered: true });
                  setConfirm("recover");
                } else setConfirm(null);
              }}
            >
              {limit && (
                <p className={limit.count >= limit.limit ? "notice notice-warning small" : "muted small"}>
                  {`${limit.count} of ${limit.limit} active`}
                  {limit.count >= limit.limit
                    ? " — this project is at its limit of active webhooks. Disable or delete another webhook first."
                    : " webhooks in this project."}
                </p>
              )}
            </ConfirmDialog>
          )}
          {confirm === "delete" && (
            <ConfirmDialog
              title="Delete webhook"
              confirmLabel="Delete"
              tone="danger"
              description={
                <p>
                  Delete <strong>{w.name}</strong>? Its pending deliveries and all its log entries are deleted too, and nothing more is sent to{" "}
                  <span className="mono break">{w.url}</span>. This cannot be undone.
                </p>
              }
              onClose={() => setConfirm(null)}
              onConfirm={async () => {
                await remove.mutateAsync();
                toast({ message: "Webhook and its log deleted" });
                navigate(overview, { replace: true });
              }}
            />
          )}
        </>
      )}
    </Shell>
  );
}
