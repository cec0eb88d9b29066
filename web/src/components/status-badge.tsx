import type { Webhook } from "../api/types";

export function statusLabel(w: Pick<Webhook, "enabled" | "disabled_reason">): string {
  if (w.enabled) return "Enabled";
  return w.disabled_reason === "failures" ? "Disabled after failures" : "Disabled";
}

export function StatusBadge({ webhook }: { webhook: Pick<Webhook, "enabled" | "disabled_reason"> }) {
  const tone = webhook.enabled ? "success" : webhook.disabled_reason === "failures" ? "danger" : "neutral";
  return (
    <span className={`badge badge-${tone}`}>
      <span className="badge-dot" aria-hidden="true" />
      {statusLabel(webhook)}
    </span>
  );
}
