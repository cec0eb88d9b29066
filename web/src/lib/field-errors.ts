import { ApiError, errorMessage } from "../api/client";
import { isOptionField } from "../pages/receiver-options";

type Field = "name" | "events" | "url" | "secret" | "enabled";
export type FieldErrors = Partial<Record<Field | "form", string>>;

/** Maps a failed write to messages next to the fields the server named. */
export function toFieldErrors(err: unknown, limit?: number): FieldErrors {
  if (err instanceof ApiError) {
    if (err.code === "active_webhook_limit") {
      return {
        enabled: `${err.message}${limit !== undefined && !err.message.includes(String(limit)) ? ` (limit: ${limit})` : ""}`,
      };
    }
    if (err.details.length) {
      const out: FieldErrors = {};
      const other: string[] = [];
      for (const d of err.details) {
        // "events[2]" and "events.2" belong to the Events field too.
        const field = d.field.split(/[.[]/)[0] as Field;
        if (["name", "events", "url", "secret", "enabled"].includes(field)) out[field] = out[field] ? `${out[field]} ${d.message}` : d.message;
        // The receiver options show their own messages, next to their fields (receiver-options-fields.tsx).
        else if (!isOptionField(d.field)) other.push(d.message);
      }
      if (other.length) out.form = other.join(" ");
      return out;
    }
    if (err.status === 403) return { form: "You can view this project’s webhooks but not change them." };
  }
  return { form: errorMessage(err) };
}
