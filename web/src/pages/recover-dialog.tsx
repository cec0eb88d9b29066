import { useState } from "react";
import type { Webhook } from "../api/types";
import { Dialog, DialogActions } from "../components/dialog";
import { FormError } from "../components/form-bits";
import { useSession } from "../lib/session-context";
import { useRequest } from "../lib/use-request";

/** An ISO time as a datetime-local value in the user's zone (seconds kept). */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Recover: queue one new delivery (trigger `recover`) for every stored event since a time that this
 * webhook subscribes to and never received: failed, cancelled, or published while it was off.
 */
export function RecoverDialog({
  webhook,
  path,
  since,
  offered = false,
  onClose,
  onQueued,
}: {
  webhook: Webhook;
  path: string;
  /** Pre-filled start (ISO), e.g. when the webhook was disabled. */
  since?: string | null;
  /** Opened by the UI right after enabling the webhook, rather than by the user. */
  offered?: boolean;
  onClose: () => void;
  onQueued: (deliveries: number) => void;
}) {
  const { client } = useSession();
  const [value, setValue] = useState(() => toLocalInput(since ?? new Date(Date.now() - 3600_000).toISOString()));
  const { busy, error, run } = useRequest();

  const recover = () =>
    run(async () => {
      const at = new Date(value);
      if (!Number.isFinite(at.getTime())) throw new Error("Enter a date and time to recover from.");
      const res = await client.post<{ deliveries: number }>(`${path}/recover`, { since: at.toISOString() });
      onQueued(res.deliveries);
    });

  return (
    <Dialog
      title="Recover"
      onClose={onClose}
      busy={busy}
      description={
        <p>
          {offered ? (
            <>
              <strong>{webhook.name}</strong> is on again. Resend what it missed?{" "}
            </>
          ) : null}
          Every stored event since this time that <strong>{webhook.name}</strong> subscribes to and did not receive (failed, cancelled, or published while it
          was off) is queued once more, oldest first.
        </p>
      }
      footer={<DialogActions label="Recover" busy={busy} onAction={recover} onCancel={onClose} autoFocus />}
    >
      <div className="field">
        <label htmlFor="recover-since">Since</label>
        <input id="recover-since" type="datetime-local" step={1} value={value} onChange={(e) => setValue(e.target.value)} />
      </div>
      <FormError>{error}</FormError>
    </Dialog>
  );
}
