import type { Webhook } from "../api/types";
import { Dialog } from "../components/dialog";
import { FormError } from "../components/form-bits";
import { CopyButton } from "../components/json-view";
import { useSession } from "../lib/session-context";
import { useRequest } from "../lib/use-request";

/**
 * Signing key: an Ed25519 key pair whose private half stays in Hookline. Deliveries then carry a
 * `v1a,` signature that receivers verify with the public key alone (docs/receivers.md).
 */
export function SigningKeyDialog({
  webhook,
  path,
  onClose,
  onChanged,
}: {
  webhook: Webhook;
  path: string;
  onClose: () => void;
  onChanged: () => Promise<void>;
}) {
  const { client, canWrite } = useSession();
  const { busy, error, run: request } = useRequest();
  const key = webhook.public_key;
  const run = (action: () => Promise<unknown>) =>
    request(async () => {
      await action();
      await onChanged();
    });

  return (
    <Dialog
      title="Signing key"
      onClose={onClose}
      busy={busy}
      size="large"
      description={
        <p>
          With a signing key every delivery also carries an Ed25519 signature (<code>v1a,</code> in <code>webhook-signature</code>). Receivers verify it with
          the public key alone, which is safe to publish: it cannot sign anything.
        </p>
      }
      footer={
        <>
          {canWrite && key && (
            <button type="button" className="button button-danger" onClick={() => run(() => client.del(`${path}/signing-key`))} disabled={busy}>
              Remove key
            </button>
          )}
          {canWrite && (
            <button
              type="button"
              className="button button-primary"
              onClick={() => run(() => client.post(`${path}/signing-key`))}
              disabled={busy}
              aria-busy={busy || undefined}
            >
              {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
              {key ? "Replace key" : "Create signing key"}
            </button>
          )}
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Done
          </button>
        </>
      }
    >
      {key ? (
        <div className="field">
          <label htmlFor="public-key">Public key</label>
          <div className="input-with-button">
            <input id="public-key" className="mono" readOnly value={key} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={key} label="Copy public key" />
          </div>
          <p className="muted small">Replacing the key signs deliveries with a new one at once: update your receivers' public key.</p>
        </div>
      ) : (
        <p className="muted">This webhook has no signing key.</p>
      )}
      <FormError>{error}</FormError>
    </Dialog>
  );
}
