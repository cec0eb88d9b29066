import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { errorMessage } from "../api/client";
import type { Webhook, WebhookInput } from "../api/types";
import { EventChips } from "../components/event-chips";
import { DotsIcon, PencilIcon } from "../components/icons";
import { MenuButton } from "../components/menu";
import { useToast } from "../components/toast";
import { useSession } from "../lib/session-context";
import { EventsEditor, SecretDisplay, TextEditor } from "./field-editors";
import { RotateSecretDialog } from "./rotate-secret-dialog";

type EditableField = "name" | "events" | "url" | "secret";
const LABELS: Record<EditableField, string> = { name: "Name", events: "Events", url: "URL", secret: "Secret" };

/**
 * The webhook's settings as a list of fields; each has a pencil (`Edit <Field>`) that turns it into
 * an input with Save and Cancel. One field is edited at a time; Escape cancels, Enter saves.
 */
/** `patch` sends the change and updates what every page shows. */
export function WebhookFields({ webhook, path, patch }: { webhook: Webhook; path: string; patch: (body: Partial<WebhookInput>) => Promise<Webhook> }) {
  const { canWrite } = useSession();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<EditableField | null>(null);
  const [rotating, setRotating] = useState(false);
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
    await patch({ [field]: value });
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
                  await patch({ [field]: before });
                  toast({ message: `${LABELS[field]} restored`, tone: "info" });
                } catch (err) {
                  toast({ message: `Could not undo: ${errorMessage(err)}`, tone: "error" });
                }
              },
            },
    });
  }

  const row = (field: EditableField, display: ReactNode, editor: ReactNode, menu?: ReactNode) => (
    <div className={`field-row${editing === field ? " field-row-editing" : ""}`}>
      {editing === field ? (
        editor
      ) : (
        <>
          <div className="field-row-label">{LABELS[field]}</div>
          <div className="field-row-value">{display}</div>
          {canWrite && (
            <div className="field-row-actions">
              {menu}
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
            </div>
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
        <MenuButton
          label="Secret actions"
          icon={<DotsIcon size={16} />}
          className="icon-button field-row-edit"
          items={[{ label: "Rotate secret", onSelect: () => setRotating(true) }]}
        />,
      )}
      {rotating && (
        <RotateSecretDialog
          webhook={webhook}
          path={path}
          onClose={() => setRotating(false)}
          // The webhook now shows until when the previous secret signs too.
          onRotated={() => void queryClient.invalidateQueries({ queryKey: [path] })}
        />
      )}
    </div>
  );
}
