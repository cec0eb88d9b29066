import { useEffect, useId, useRef, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { enc } from "../api/client";
import { keys } from "../api/keys";
import type { Notification } from "../api/types";
import { Link } from "../lib/router";
import { useSession, type ProjectScope } from "../lib/session-context";
import { useApi } from "../lib/queries";
import { BellIcon } from "./icons";
import { Time } from "./time";

/** The bell: unread count, and a panel whose entries link to the webhook they are about. */
export function NotificationsBell({ scope }: { scope: ProjectScope }) {
  const { client } = useSession();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const countId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const path = `/projects/${enc(scope.projectId)}/notifications`;
  const key = keys.notifications(scope.projectId);
  const res = useApi<{ data: Notification[] }>(key, { poll: 5000 });
  const queryClient = useQueryClient();
  const items = res.data?.data ?? [];
  const unread = items.filter((n) => !n.read_at).length;

  useEffect(() => {
    if (!open) return;
    panelRef.current?.querySelector<HTMLElement>("a, button")?.focus();
    function onPointerDown(e: PointerEvent) {
      const t = e.target as Node;
      if (!panelRef.current?.contains(t) && !buttonRef.current?.contains(t)) setOpen(false);
    }
    document.addEventListener("pointerdown", onPointerDown);
    return () => document.removeEventListener("pointerdown", onPointerDown);
  }, [open]);

  const { mutate: markRead } = useMutation({
    mutationFn: (ids: string[]) => Promise.allSettled(ids.map((id) => client.post(`${path}/${enc(id)}/read`))),
    onMutate: (ids) => {
      const now = new Date().toISOString();
      const read = (n: Notification) => (ids.includes(n.id) && !n.read_at ? { ...n, read_at: now } : n);
      queryClient.setQueryData<{ data: Notification[] }>(key, (d) => d && { data: d.data.map(read) });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  });

  return (
    <div className="bell-wrap">
      <button
        ref={buttonRef}
        type="button"
        className="icon-button bell"
        aria-label="Notifications"
        aria-describedby={countId}
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        <BellIcon size={18} />
        {unread > 0 && (
          <span className="bell-count" aria-hidden="true">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      <span id={countId} className="visually-hidden">
        {unread === 0 ? "No unread notifications" : `${unread} unread`}
      </span>
      {open && (
        <div
          ref={panelRef}
          id={panelId}
          className="popover notifications"
          role="dialog"
          aria-label="Notifications"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.stopPropagation();
              setOpen(false);
              buttonRef.current?.focus();
            }
          }}
        >
          <div className="popover-header">
            <h2 className="popover-title">Notifications</h2>
            {unread > 0 && (
              <button type="button" className="link-button" onClick={() => markRead(items.filter((n) => !n.read_at).map((n) => n.id))}>
                Mark all as read
              </button>
            )}
          </div>
          {res.isPending ? (
            <p className="popover-empty">Loading…</p>
          ) : items.length === 0 ? (
            <p className="popover-empty">You’re all caught up. Hookline tells you here when it disables a webhook after repeated failures.</p>
          ) : (
            <ul className="notification-list">
              {items.slice(0, 30).map((n) => (
                <li key={n.id} className={n.read_at ? "notification" : "notification notification-unread"}>
                  {n.webhook_id ? (
                    <Link
                      to={`${scope.base}/webhooks/${enc(n.webhook_id)}`}
                      onClick={() => {
                        setOpen(false);
                        if (!n.read_at) markRead([n.id]);
                      }}
                    >
                      <NotificationText n={n} />
                    </Link>
                  ) : (
                    <div className="notification-static">
                      <NotificationText n={n} />
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

function NotificationText({ n }: { n: Notification }) {
  return (
    <>
      {!n.read_at && <span className="unread-dot" aria-label="Unread" role="img" />}
      <span className="notification-message">{n.message}</span>
      <Time iso={n.created_at} relative className="notification-time" />
    </>
  );
}
