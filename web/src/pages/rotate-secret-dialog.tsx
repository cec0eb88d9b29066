import { useState } from "react";
import type { SecretRotation, Webhook } from "../api/types";
import { Dialog, DialogActions } from "../components/dialog";
import { FormError } from "../components/form-bits";
import { CopyButton } from "../components/json-view";
import { Time } from "../components/time";
import { useSession } from "../lib/session-context";
import { useRequest } from "../lib/use-request";

const OVERLAPS: { seconds: number; label: string }[] = [
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 604_800, label: "7 days" },
  { seconds: 0, label: "No overlap: stop at once" },
];

/**
 * Rotate secret: a new secret is generated (POST …/secret/rotate) and shown once, with the time until
 * which the old one keeps signing as well, so receivers can switch over without missing a delivery.
 */
export function RotateSecretDialog({ webhook, path, onClose, onRotated }: { webhook: Webhook; path: string; onClose: () => void; onRotated: () => void }) {
  const { client } = useSession();
  const [seconds, setSeconds] = useState(86_400);
  const { busy, error, run } = useRequest();
  const [result, setResult] = useState<SecretRotation | null>(null);

  const rotate = () =>
    run(async () => {
      setResult(await client.post<SecretRotation>(`${path}/secret/rotate`, { previous_valid_seconds: seconds }));
      onRotated();
    });

  if (result) {
    return (
      <Dialog
        title="Rotate secret"
        onClose={onClose}
        footer={
          <button type="button" className="button button-primary" onClick={onClose} data-autofocus>
            Done
          </button>
        }
      >
        <p>The new secret signs every delivery from now on. Copy it now: this dialog shows it only once.</p>
        <div className="field">
          <label htmlFor="new-secret">New secret</label>
          <div className="input-with-button">
            <input id="new-secret" className="mono" readOnly value={result.secret} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={result.secret} label="Copy new secret" />
          </div>
        </div>
        {result.previous_secret_expires_at ? (
          <p className="notice notice-info small" role="status">
            <span>
              The old secret stays valid until <Time iso={result.previous_secret_expires_at} />: until then every delivery carries a signature made with each.
            </span>
          </p>
        ) : (
          <p className="notice notice-warning small" role="status">
            The old secret no longer signs deliveries.
          </p>
        )}
      </Dialog>
    );
  }

  return (
    <Dialog
      title="Rotate secret"
      onClose={onClose}
      busy={busy}
      description={
        webhook.has_secret ? (
          <p>
            Hookline generates a new secret. While your receivers switch to it, the current secret keeps signing deliveries too (a second <code>v1,</code>{" "}
            signature).
          </p>
        ) : (
          <p>This webhook has no secret yet: the new one signs every delivery from now on.</p>
        )
      }
      footer={<DialogActions label="Rotate" busy={busy} onAction={rotate} onCancel={onClose} autoFocus />}
    >
      {webhook.has_secret && (
        <div className="field">
          <label htmlFor="rotate-overlap">Keep the old secret valid for</label>
          <select id="rotate-overlap" value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {OVERLAPS.map((o) => (
              <option key={o.seconds} value={o.seconds}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
      )}
      <FormError>{error}</FormError>
    </Dialog>
  );
}
