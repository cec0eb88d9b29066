import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { errorMessage } from "../api/client";
import type { EventType, Webhook } from "../api/types";
import { EventPicker, FieldError } from "../components/form-bits";
import { CopyButton } from "../components/json-view";
import { PencilIcon } from "../components/icons";
import { Skeleton } from "../components/spinner";
import { useToast } from "../components/toast";
import { loadEventTypes } from "../lib/event-types";
import { generateSecret } from "../lib/format";
import { useSession } from "../lib/session-context";
import { toFieldErrors } from "./add-webhook-dialog";
import { EventChips } from "./webhooks-overview";

type EditableField = "name" | "events" | "url" | "secret";
const LABELS: Record<EditableField, string> = { name: "Name", events: "Events", url: "URL", secret: "Secret" };

/**
 * The webhook's settings as a list of fields; each has a pencil (`Edit <Field>`) that turns it into
 * an input with Save and Cancel. One field is edited at a time; Escape cancels, Enter saves.
 */
export function WebhookFields({ webhook, path, onSaved }: { webhook: Webhook; path: string; onSaved: (w: Webhook) => void }) {
  const { client, canWrite } = useSession();
  const toast = useToast();
  const [editing, setEditing] = useState<EditableField | null>(null);
  const pencils = useRef<Partial<Record<EditableField, HTMLButtonElement | null>>>({});
  const returnTo = useRef<EditableField | null>(null);

  useEffect(() => {
    if (editing === null && returnTo.current) {
      pencils.current[returnTo.current]?.focus();
      returnTo.current = null;
    }
  }, [editing]);

  function close() {
    returnTo.current = editing;
    setEditing(null);
  }

  async function save(field: EditableField, value: unknown) {
    const before = webhook[field as keyof Webhook];
    const updated = await client.patch<Webhook>(path, { [field]: value });
    onSaved(updated);
    close();
    toast({
      message: `${LABELS[field]} saved`,
      action:
        field === "secret"
          ? undefined
          : {
              label: "Undo",
              run: async () => {
                try {
                  onSaved(await client.patch<Webhook>(path, { [field]: before }));
                  toast({ message: `${LABELS[field]} restored`, tone: "info" });
                } catch (err) {
                  toast({ message: `Could not undo: ${errorMessage(err)}`, tone: "error" });
                }
              },
            },
    });
  }

  const row = (field: EditableField, display: ReactNode, editor: ReactNode) => (
    <div className={`field-row${editing === field ? " field-row-editing" : ""}`}>
      {editing === field ? (
        editor
      ) : (
        <>
          <div className="field-row-label">{LABELS[field]}</div>
          <div className="field-row-value">{display}</div>
          {canWrite && (
            <button
              type="button"
              className="icon-button field-row-edit"
              aria-label={`Edit ${LABELS[field]}`}
              title={`Edit ${LABELS[field]}`}
              ref={(el) => {
                pencils.current[field] = el;
              }}
              onClick={() => setEditing(field)}
            >
              <PencilIcon />
            </button>
          )}
        </>
      )}
    </div>
  );

  return (
    <div className="field-list">
      {row(
        "name",
        <span className="strong">{webhook.name}</span>,
        <TextEditor label="Name" initial={webhook.name} onCancel={close} onSave={(v) => save("name", v)} />,
      )}
      {row(
        "events",
        <EventChips events={webhook.events} max={6} />,
        <EventsEditor initial={webhook.events} onCancel={close} onSave={(v) => save("events", v)} />,
      )}
      {row(
        "url",
        <span className="mono break">{webhook.url}</span>,
        <TextEditor label="URL" initial={webhook.url} mono type="url" onCancel={close} onSave={(v) => save("url", v.trim())} />,
      )}
      {row(
        "secret",
        <SecretDisplay webhook={webhook} path={path} />,
        <TextEditor
          label="Secret"
          initial=""
          mono
          placeholder={webhook.has_secret ? "Enter a new secret" : "Enter a secret"}
          generate
          hint={
            webhook.has_secret
              ? "Replaces the current secret for every attempt from now on, retries included. Leave empty and save to stop signing deliveries."
              : "Deliveries are signed from now on."
          }
          onCancel={close}
          onSave={(v) => save("secret", v === "" ? null : v)}
        />,
      )}
    </div>
  );
}

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
  return { busy, error, run };
}

function TextEditor({
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
  const { busy, error, run } = useSave(field);
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
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
          />
          {generate && (
            <button type="button" className="button" onClick={() => setValue(generateSecret())}>
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

function EventsEditor({ initial, onSave, onCancel }: { initial: string[]; onSave: (v: string[]) => Promise<void>; onCancel: () => void }) {
  const { client } = useSession();
  const [types, setTypes] = useState<EventType[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [value, setValue] = useState(initial);
  const { busy, error, run } = useSave("events");
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    loadEventTypes(client).then(setTypes, (err) => setLoadError(errorMessage(err)));
  }, [client]);
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
          <EventPicker types={types} selected={value} onChange={setValue} error={error} legendVisible={false} />
        ) : (
          <Skeleton lines={3} />
        )}
        <FormButtons busy={busy} onCancel={onCancel} />
      </div>
    </form>
  );
}

/** Masked by default; admins may reveal it (GET …/secret) and copy it. */
function SecretDisplay({ webhook, path }: { webhook: Webhook; path: string }) {
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
    </span>
  );
}

