import { useEffect, useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../api/client";
import type { Webhook, WebhookInput } from "../api/types";
import { FormError } from "../components/form-bits";
import { useToast } from "../components/toast";
import { useSession } from "../lib/session-context";
import { AdvancedDisclosure } from "./advanced-disclosure";
import { draftOf, optionErrors, receiverBody, type OptionErrors } from "./receiver-options";
import { ReceiverOptionsFields } from "./receiver-options-fields";

/** What the closed disclosure says is set, so nobody has to open it to find out. */
function summary(w: Webhook): string {
  const parts = [
    w.headers && Object.keys(w.headers).length > 0 ? `${Object.keys(w.headers).length} custom header${Object.keys(w.headers).length === 1 ? "" : "s"}` : "",
    w.auth ? `authentication: ${w.auth.type.replace(/_/g, " ")}` : "",
    w.client_certificate ? "client certificate" : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(" · ") : "no custom headers, authentication or client certificate";
}

/** The detail page's Edit form of the receiver options, under the `Advanced` disclosure of its settings. */
export function ReceiverOptionsEditor({ webhook, patch }: { webhook: Webhook; patch: (body: Partial<WebhookInput>) => Promise<Webhook> }) {
  const { canWrite } = useSession();
  const toast = useToast();
  const [draft, setDraft] = useState(() => draftOf(webhook));
  const [errors, setErrors] = useState<OptionErrors>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // Another tab or a save elsewhere changed the webhook: start from what it is now.
  const key = JSON.stringify([webhook.headers, webhook.auth, webhook.client_certificate]);
  useEffect(() => setDraft(draftOf(webhook)), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const body = receiverBody(draft, webhook);
  const changed = Object.keys(body).length > 0;

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!changed) return;
    setBusy(true);
    setErrors({});
    setFormError(undefined);
    try {
      const saved = await patch(body);
      setDraft(draftOf(saved));
      toast({ message: "Advanced settings saved" });
    } catch (err) {
      const byField = err instanceof ApiError ? optionErrors(err.details) : {};
      setErrors(byField);
      if (Object.keys(byField).length === 0) setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AdvancedDisclosure open={Object.keys(errors).length > 0} summary={summary(webhook)}>
      <form className="form advanced-form" onSubmit={save} noValidate>
        <fieldset className="plain-fieldset" disabled={!canWrite || busy}>
          <ReceiverOptionsFields draft={draft} onChange={setDraft} errors={errors} current={webhook} />
        </fieldset>
        <FormError>{formError}</FormError>
        {canWrite && (
          <div className="edit-actions">
            <button type="submit" className="button button-primary" disabled={!changed || busy} aria-busy={busy || undefined}>
              Save
            </button>
            <button type="button" className="button" disabled={!changed || busy} onClick={() => (setDraft(draftOf(webhook)), setErrors({}))}>
              Cancel
            </button>
          </div>
        )}
      </form>
    </AdvancedDisclosure>
  );
}
