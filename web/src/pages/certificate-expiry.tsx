import type { Webhook } from "../api/types";
import { AlertIcon } from "../components/icons";
import { Time } from "../components/time";
import { daysLeft } from "./receiver-options";

/** Receivers refuse an expired client certificate, so every delivery would fail: warn 14 days ahead. */
export const CERTIFICATE_WARNING_DAYS = 14;

export function CertificateExpiry({ webhook }: { webhook: Webhook }) {
  const cert = webhook.client_certificate;
  if (!cert) return null;
  const days = daysLeft(cert.not_after);
  if (days >= CERTIFICATE_WARNING_DAYS) return null;
  return (
    <div className={`notice ${days < 0 ? "notice-danger" : "notice-warning"}`} role="status">
      <AlertIcon size={16} />
      <span>
        {days < 0 ? "The client certificate expired" : "The client certificate expires"} <Time iso={cert.not_after} relative /> ({cert.subject}). Replace it
        under Settings › Advanced{days < 0 ? ": the endpoint refuses it." : " before then, or the endpoint will refuse deliveries."}
      </span>
    </div>
  );
}
