/** The detail page's Edit form for the delivery policies: the same fields as Add, under `Advanced`, saved together. */
import { useState, type FormEvent } from "react";
import type { Webhook, WebhookInput } from "../api/types";
import { AdvancedDisclosure } from "../components/advanced-disclosure";
import { FormError } from "../components/form-bits";
import { useToast } from "../components/toast";
import { errorMessage } from "../api/client";
import { useSession } from "../lib/session-context";
import { DeliveryPolicyFields, policyBody, policyDraft, policyErrors, type PolicyErrors } from "./delivery-policy-fields";

export function PolicyEditor({ webhook, projectId, patch }: { webhook: Webhook; projectId: string; patch: (body: Partial<WebhookInput>) => Promise<Webhook> }) {
  const { canWrite } = useSession();
  const toast = useToast();
  const [draft, setDraft] = useState(policyDraft(webhook));
  const [errors, setErrors] = useState<PolicyErrors>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function save(e: FormEvent) {
    e.preventDefault();
    const { body, errors: local } = policyBody(draft);
    setErrors(local);
    setFormError(undefined);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      setDraft(policyDraft(await patch(body)));
      toast({ message: "Delivery policies saved" });
    } catch (err) {
      const pe = policyErrors(err);
      setErrors(pe);
      if (Object.keys(pe).length === 0) setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AdvancedDisclosure open={Object.keys(errors).length > 0 || undefined}>
      <form onSubmit={(e) => void save(e)} noValidate>
        <fieldset disabled={!canWrite || busy} className="plain-fieldset">
          <DeliveryPolicyFields projectId={projectId} draft={draft} onChange={setDraft} errors={errors} events={webhook.events} />
        </fieldset>
        <FormError>{formError}</FormError>
        {canWrite && (
          <div className="form-actions">
            <button type="button" className="button" onClick={() => (setDraft(policyDraft(webhook)), setErrors({}))} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy || undefined}>
              Save
            </button>
          </div>
        )}
      </form>
    </AdvancedDisclosure>
  );
}
