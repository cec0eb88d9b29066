import type { Webhook } from "../api/types";

export function statusLabel(w: Pick<Webhook, "enabled" | "disabled_reason">): string {
  if (w.enabled) return "Enabled";
  if (w.disabled_reason === "failures") return "Disabled after failures";
  return w.disabled_reason === "gone" ? "Disabled: endpoint gone" : "Disabled";
}

export function StatusBadge({ webhook }: { webhook: Pick<Webhook, "enabled" | "disabled_reason"> }) {
  const tone = webhook.enabled ? "success" : webhook.disabled_reason === "failures" || webhook.disabled_reason === "gone" ? "danger" : "neutral";
  return (
    <span className={`badge badge-${tone}`}>
      <span className="badge-dot" aria-hidden="true" />
      {statusLabel(webhook)}
    </span>
  );
}
