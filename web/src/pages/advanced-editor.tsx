/**
 * The detail page's Edit form of everything under `Advanced`: the receiver options (custom headers,
 * authentication, client certificate) and the delivery policies (filter, rate limit, ordered
 * delivery), saved together with one Save, like the Add dialog's disclosure.
 */
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../api/client";
import type { Webhook, WebhookInput } from "../api/types";
import { FormError } from "../components/form-bits";
import { useToast } from "../components/toast";
import { useSession } from "../lib/session-context";
import { AdvancedDisclosure } from "./advanced-disclosure";
import { DeliveryPolicyFields, policyBody, policyDraft, policyErrors, type PolicyErrors } from "./delivery-policy-fields";
import { draftOf, optionErrors, receiverBody, type OptionErrors } from "./receiver-options";
import { ReceiverOptionsFields } from "./receiver-options-fields";

/** What the closed disclosure says is set, so nobody has to open it to find out. */
function summary(w: Webhook): string {
  const headers = w.headers ? Object.keys(w.headers).length : 0;
  const parts = [
    headers > 0 ? `${headers} custom header${headers === 1 ? "" : "s"}` : "",
    w.auth ? `authentication: ${w.auth.type.replace(/_/g, " ")}` : "",
    w.client_certificate ? "client certificate" : "",
    w.filter ? "filter" : "",
    w.rate_limit ? `at most ${w.rate_limit.per_second}/s` : "",
    w.ordering === "fifo" ? "ordered delivery" : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(" · ") : "no custom headers, authentication, client certificate or delivery policies";
}

export function AdvancedEditor({
  webhook,
  projectId,
  patch,
}: {
  webhook: Webhook;
  projectId: string;
  patch: (body: Partial<WebhookInput>) => Promise<Webhook>;
}) {
  const { canWrite } = useSession();
  const toast = useToast();
  const [draft, setDraft] = useState(() => draftOf(webhook));
  const [policy, setPolicy] = useState(() => policyDraft(webhook));
  const [optionErrs, setOptionErrs] = useState<OptionErrors>({});
  const [policyErrs, setPolicyErrs] = useState<PolicyErrors>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // Another tab or a save elsewhere changed the webhook: start from what it is now.
  const key = JSON.stringify([webhook.headers, webhook.auth, webhook.client_certificate, webhook.filter, webhook.rate_limit, webhook.ordering]);
  useEffect(() => {
    setDraft(draftOf(webhook));
    setPolicy(policyDraft(webhook));
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  function reset() {
    setDraft(draftOf(webhook));
    setPolicy(policyDraft(webhook));
    setOptionErrs({});
    setPolicyErrs({});
    setFormError(undefined);
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    const policies = policyBody(policy);
    setOptionErrs({});
    setPolicyErrs(policies.errors);
    setFormError(undefined);
    if (Object.keys(policies.errors).length > 0) return;
    setBusy(true);
    try {
      const saved = await patch({ ...receiverBody(draft, webhook), ...policies.body });
      setDraft(draftOf(saved));
      setPolicy(policyDraft(saved));
      toast({ message: "Advanced settings saved" });
    } catch (err) {
      const byField = err instanceof ApiError ? optionErrors(err.details) : {};
      const byPolicy = policyErrors(err);
      setOptionErrs(byField);
      setPolicyErrs(byPolicy);
      if (Object.keys(byField).length === 0 && Object.keys(byPolicy).length === 0) setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AdvancedDisclosure open={Object.keys(optionErrs).length > 0 || Object.keys(policyErrs).length > 0} summary={summary(webhook)}>
      <form className="form advanced-form" onSubmit={(e) => void save(e)} noValidate>
        <fieldset className="plain-fieldset advanced-body" disabled={!canWrite || busy}>
          <ReceiverOptionsFields draft={draft} onChange={setDraft} errors={optionErrs} current={webhook} />
          <DeliveryPolicyFields projectId={projectId} draft={policy} onChange={setPolicy} errors={policyErrs} events={webhook.events} />
        </fieldset>
        <FormError>{formError}</FormError>
        {canWrite && (
          <div className="edit-actions">
            <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy || undefined}>
              Save
            </button>
            <button type="button" className="button" disabled={busy} onClick={reset}>
              Cancel
            </button>
          </div>
        )}
      </form>
    </AdvancedDisclosure>
  );
}
