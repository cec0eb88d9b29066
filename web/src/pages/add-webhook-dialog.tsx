import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { ApiError, enc } from "../api/client";
import type { Webhook, WebhookInput } from "../api/types";
import { Dialog } from "../components/dialog";
import { EventPicker, FieldError, FormError, Switch } from "../components/form-bits";
import { Skeleton } from "../components/spinner";
import { useEventTypes } from "../lib/event-types";
import { generateSecret } from "../lib/format";
import { toFieldErrors, type FieldErrors } from "../lib/field-errors";
import { useSession } from "../lib/session-context";
import { AdvancedDisclosure } from "./advanced-disclosure";
import { DeliveryPolicyFields, policyBody, policyDraft, policyErrors, type PolicyErrors } from "./delivery-policy-fields";
import { draftOf, optionErrors, receiverBody, type OptionErrors } from "./receiver-options";
import { ReceiverOptionsFields } from "./receiver-options-fields";

export function AddWebhookDialog({
  projectId,
  activeCount,
  activeLimit,
  onClose,
  onAdded,
}: {
  projectId: string;
  activeCount: number;
  activeLimit: number;
  onClose: () => void;
  onAdded: (w: Webhook) => void;
}) {
  const { client } = useSession();
  const formId = useId();
  const { types, error: typesError } = useEventTypes();
  const [name, setName] = useState("");
  const [events, setEvents] = useState<string[]>([]);
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [enabled, setEnabled] = useState(true);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [options, setOptions] = useState(() => draftOf());
  const [optionErrs, setOptionErrs] = useState<OptionErrors>({});
  const [policy, setPolicy] = useState(policyDraft());
  const [policyErrs, setPolicyErrs] = useState<PolicyErrors>({});
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const atLimit = activeCount >= activeLimit;
  // A field's message goes away as soon as it is edited; the server judges it again on Add.
  const clear = (field: keyof FieldErrors) => setErrors((e) => (e[field] ? { ...e, [field]: undefined } : e));

  // After a failed submit, move focus to the first field with a message.
  useEffect(() => {
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (!first) return;
    (first.matches("fieldset") ? first.querySelector<HTMLElement>("input") : first)?.focus();
    // Focus scrolls the control into view; make sure its message below it is visible too.
    first.closest(".field, fieldset")?.scrollIntoView({ block: "nearest" });
  }, [errors, optionErrs]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setOptionErrs({});
    const policies = policyBody(policy);
    setPolicyErrs(policies.errors);
    if (Object.keys(policies.errors).length > 0) return setBusy(false);
    const body: WebhookInput = { name, events, url: url.trim(), enabled, ...receiverBody(options), ...policies.body };
    if (secret !== "") body.secret = secret;
    try {
      const w = await client.post<Webhook>(`/projects/${enc(projectId)}/webhooks`, body);
      onAdded(w);
    } catch (err) {
      // Messages of the fields under Advanced show next to those fields, not again at the form's foot.
      setErrors(toFieldErrors(err, activeLimit));
      setOptionErrs(err instanceof ApiError ? optionErrors(err.details) : {});
      setPolicyErrs(policyErrors(err));
      setBusy(false);
    }
  }

  const ids = { name: `${formId}-name`, url: `${formId}-url`, secret: `${formId}-secret` };
  return (
    <Dialog
      title="Add Webhook"
      size="large"
      onClose={onClose}
      busy={busy}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" form={formId} className="button button-primary" disabled={busy} aria-busy={busy || undefined}>
            {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
            Add
          </button>
        </>
      }
    >
      <form id={formId} ref={formRef} className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input
            id={ids.name}
            value={name}
            onChange={(e) => (setName(e.target.value), clear("name"))}
            placeholder="e.g. Release dashboard"
            maxLength={200}
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={errors.name ? `${ids.name}-error` : undefined}
            data-autofocus
          />
          <FieldError id={`${ids.name}-error`} message={errors.name} />
        </div>

        <div className="field">
          <label htmlFor={ids.url}>URL</label>
          <input
            id={ids.url}
            type="url"
            inputMode="url"
            spellCheck={false}
            autoComplete="off"
            value={url}
            onChange={(e) => (setUrl(e.target.value), clear("url"))}
            placeholder="https://example.com/webhooks/hookline"
            aria-invalid={errors.url ? true : undefined}
            aria-describedby={`${ids.url}-hint${errors.url ? ` ${ids.url}-error` : ""}`}
          />
          <p className="hint" id={`${ids.url}-hint`}>
            An HTTPS endpoint that answers 2xx within 10 seconds. Hookline POSTs each event there as JSON.
          </p>
          <FieldError id={`${ids.url}-error`} message={errors.url} />
        </div>

        {typesError ? (
          <p className="form-error" role="alert">
            Could not load the event types: {typesError}
          </p>
        ) : types ? (
          <EventPicker types={types} selected={events} onChange={(v) => (setEvents(v), clear("events"))} error={errors.events} examples />
        ) : (
          <Skeleton lines={3} />
        )}

        <div className="field">
          <label htmlFor={ids.secret}>Secret</label>
          <div className="input-with-button">
            <input
              id={ids.secret}
              className="mono"
              spellCheck={false}
              autoComplete="off"
              value={secret}
              onChange={(e) => (setSecret(e.target.value), clear("secret"))}
              placeholder="Optional"
              aria-invalid={errors.secret ? true : undefined}
              aria-describedby={`${ids.secret}-hint${errors.secret ? ` ${ids.secret}-error` : ""}`}
            />
            <button type="button" className="button" onClick={() => (setSecret(generateSecret()), clear("secret"))}>
              Generate
            </button>
          </div>
          <p className="hint" id={`${ids.secret}-hint`}>
            Signs every delivery (<code>Signature</code> and <code>webhook-signature</code> headers) so your endpoint can verify it came from Hookline.
          </p>
          <FieldError id={`${ids.secret}-error`} message={errors.secret} />
        </div>

        <div className="field">
          <Switch
            label="Enabled"
            checked={enabled}
            onChange={(e) => (setEnabled(e.target.checked), clear("enabled"))}
            error={errors.enabled}
            hint={
              atLimit && enabled ? (
                <span className="warning-text">
                  {activeCount} of {activeLimit} active webhooks are in use — the most a project can have. Switch this off to add it anyway, or turn another
                  webhook off first.
                </span>
              ) : enabled ? (
                "Starts receiving events as soon as it is added."
              ) : (
                "Added switched off: nothing is sent until you turn it on. Webhooks that are off don’t count towards the active limit."
              )
            }
          />
        </div>

        <AdvancedDisclosure open={Object.keys(optionErrs).length > 0 || Object.keys(policyErrs).length > 0}>
          <ReceiverOptionsFields draft={options} onChange={setOptions} errors={optionErrs} />
          <DeliveryPolicyFields projectId={projectId} draft={policy} onChange={setPolicy} errors={policyErrs} events={events} />
        </AdvancedDisclosure>

        <FormError>{errors.form}</FormError>
      </form>
    </Dialog>
  );
}
