import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import type { Webhook } from "../api/types";
import { EventPicker, FieldError } from "../components/form-bits";
import { CopyButton } from "../components/json-view";
import { Skeleton } from "../components/spinner";
import { Time } from "../components/time";
import { useEventTypes } from "../lib/event-types";
import { toFieldErrors } from "../lib/field-errors";
import { generateSecret } from "../lib/format";
import { useSession } from "../lib/session-context";

/** The inputs a settings field turns into when its pencil is pressed, and the masked secret. */

type EditableField = "name" | "events" | "url" | "secret";

function FormButtons({ busy, onCancel }: { busy: boolean; onCancel: () => void }) {
  return (
    <div className="edit-actions">
      <button type="submit" className="button button-primary button-small" disabled={busy}>
        {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
        Save
      </button>
      <button type="button" className="button button-small" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
    </div>
  );
}

/** Runs a save, keeping the editor open with the field's message when the server refuses. */
function useSave(field: EditableField) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      const fe = toFieldErrors(err);
      setError(fe[field] ?? fe.form ?? Object.values(fe)[0]);
      setBusy(false);
    }
  }
  return { busy, error, run, clear: () => setError(undefined) };
}

export function TextEditor({
  label,
  initial,
  onSave,
  onCancel,
  mono,
  type = "text",
  placeholder,
  generate,
  hint,
}: {
  label: "Name" | "URL" | "Secret";
  initial: string;
  onSave: (v: string) => Promise<void>;
  onCancel: () => void;
  mono?: boolean;
  type?: string;
  placeholder?: string;
  generate?: boolean;
  hint?: string;
}) {
  const id = useId();
  const field = label.toLowerCase() as EditableField;
  const [value, setValue] = useState(initial);
  const { busy, error, run, clear } = useSave(field);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    inputRef.current?.focus();
    inputRef.current?.select();
  }, []);
  useEffect(() => {
    if (error) inputRef.current?.focus();
  }, [error]);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (value === initial && field !== "secret") return onCancel();
    void run(() => onSave(value));
  }

  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <form className="edit-form" onSubmit={submit} noValidate onKeyDown={(e) => e.key === "Escape" && !busy && (e.preventDefault(), onCancel())}>
      <label htmlFor={id} className="field-row-label">
        {label}
      </label>
      <div className="edit-body">
        <div className={generate ? "input-with-button" : undefined}>
          <input
            ref={inputRef}
            id={id}
            type={type}
            className={mono ? "mono" : undefined}
            value={value}
            placeholder={placeholder}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => (setValue(e.target.value), clear())}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
          />
          {generate && (
            <button type="button" className="button" onClick={() => (setValue(generateSecret()), clear())}>
              Generate
            </button>
          )}
        </div>
        {hint && (
          <p className="hint" id={`${id}-hint`}>
            {hint}
          </p>
        )}
        <FieldError id={`${id}-error`} message={error} />
        <FormButtons busy={busy} onCancel={onCancel} />
      </div>
    </form>
  );
}

export function EventsEditor({ initial, onSave, onCancel }: { initial: string[]; onSave: (v: string[]) => Promise<void>; onCancel: () => void }) {
  const { types, error: loadError } = useEventTypes();
  const [value, setValue] = useState(initial);
  const { busy, error, run, clear } = useSave("events");
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (types) formRef.current?.querySelector<HTMLInputElement>("input")?.focus();
  }, [types]);

  return (
    <form
      ref={formRef}
      className="edit-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => onSave(value));
      }}
      onKeyDown={(e) => e.key === "Escape" && !busy && (e.preventDefault(), onCancel())}
    >
      <div className="field-row-label" aria-hidden="true">
        Events
      </div>
      <div className="edit-body">
        {loadError ? (
          <p className="form-error">{loadError}</p>
        ) : types ? (
          <EventPicker types={types} selected={value} onChange={(v) => (setValue(v), clear())} error={error} legendVisible={false} />
        ) : (
          <Skeleton lines={3} />
        )}
        <FormButtons busy={busy} onCancel={onCancel} />
      </div>
    </form>
  );
}

/** Masked by default; admins may reveal it (GET …/secret) and copy it. */
export function SecretDisplay({ webhook, path }: { webhook: Webhook; path: string }) {
  const { client, canWrite } = useSession();
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A changed secret must not keep showing the old one.
  useEffect(() => setSecret(null), [webhook.updated_at]);

  if (!webhook.has_secret) return <span className="muted">No secret — deliveries are not signed</span>;
  return (
    <span className="secret">
      <span className="mono secret-value">{secret ?? "••••••••••••••••••••"}</span>
      {canWrite &&
        (secret ? (
          <>
            <CopyButton text={secret} label="Copy secret value" />
            <button type="button" className="link-button" onClick={() => setSecret(null)}>
              Hide
            </button>
          </>
        ) : (
          <button
            type="button"
            className="link-button"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                setSecret((await client.get<{ secret: string }>(`${path}/secret`)).secret);
              } catch (err) {
                setError(errorMessage(err));
              }
              setBusy(false);
            }}
          >
            Reveal
          </button>
        ))}
      {error && <span className="field-error">{error}</span>}
      {webhook.previous_secret_expires_at && (
        <span className="muted small secret-previous">
          The previous secret also signs until <Time iso={webhook.previous_secret_expires_at} />
        </span>
      )}
    </span>
  );
}
