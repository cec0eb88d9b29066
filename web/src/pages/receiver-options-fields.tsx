import { useId, type ChangeEvent, type ReactNode } from "react";
import type { Webhook } from "../api/types";
import { FieldError } from "../components/form-bits";
import { AUTH_FIELDS, daysLeft, type AuthType, type OptionErrors, type ReceiverDraft } from "./receiver-options";

const AUTH_LABELS: Record<AuthType, string> = {
  "": "None",
  bearer: "Bearer token",
  basic: "Basic (username and password)",
  header: "API key header",
  oauth2_client_credentials: "OAuth2 client credentials",
};
const FIELD_LABELS: Record<string, string> = {
  token: "Token",
  username: "Username",
  password: "Password",
  name: "API key header name",
  value: "API key",
  token_url: "Token URL",
  client_id: "Client ID",
  client_secret: "Client secret",
  scope: "Scope",
  audience: "Audience",
};
const SECRET_FIELDS = new Set(["token", "password", "value", "client_secret"]);
const MAX_HEADERS = 10;

/**
 * The receiver options of a webhook (docs/receivers.md): `Custom headers` (rows of name and value),
 * `Authentication` (a type and its fields) and `Client certificate` (PEM pasted or uploaded). In an
 * Edit form (`current` given) secrets are blank: the server never returns them, so changing the
 * authentication means entering its secret again.
 */
export function ReceiverOptionsFields({
  draft,
  onChange,
  errors,
  current,
}: {
  draft: ReceiverDraft;
  onChange: (d: ReceiverDraft) => void;
  errors: OptionErrors;
  current?: Webhook;
}) {
  const base = useId();
  const setAuth = (patch: Partial<ReceiverDraft["auth"]>) => onChange({ ...draft, auth: { ...draft.auth, ...patch } });
  const setHeader = (i: number, patch: Partial<{ name: string; value: string }>) =>
    onChange({ ...draft, headers: draft.headers.map((h, j) => (j === i ? { ...h, ...patch } : h)) });
  const setCert = (patch: Partial<ReceiverDraft["certificate"]>) => onChange({ ...draft, certificate: { ...draft.certificate, ...patch } });
  const upload = (field: "cert" | "key") => async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) setCert({ mode: "set", [field]: await file.text() });
  };
  const err = (key: string, id: string) => <FieldError id={id} message={errors[key]} />;
  const stored = current?.client_certificate ?? null;
  const certEditing = draft.certificate.mode === "set" || !stored;

  return (
    <div className="receiver-options">
      <fieldset className="field option-group" aria-describedby={`${base}-headers-hint${errors.headers ? ` ${base}-headers-error` : ""}`}>
        <legend className="label">Custom headers</legend>
        <p className="hint" id={`${base}-headers-hint`}>
          Sent with every delivery, e.g. a tenant or routing header. Not secret: anyone who can see this webhook sees them.
        </p>
        {draft.headers.map((h, i) => (
          <div className="custom-header-row" key={i}>
            <input
              aria-label={`Header name ${i + 1}`}
              className="mono"
              spellCheck={false}
              autoComplete="off"
              placeholder="X-Tenant"
              value={h.name}
              onChange={(e) => setHeader(i, { name: e.target.value })}
              aria-invalid={errors.headers ? true : undefined}
            />
            <input
              aria-label={`Header value ${i + 1}`}
              className="mono"
              spellCheck={false}
              autoComplete="off"
              placeholder="value"
              value={h.value}
              onChange={(e) => setHeader(i, { value: e.target.value })}
            />
            <button
              type="button"
              className="button"
              aria-label={`Remove header ${i + 1}`}
              onClick={() => onChange({ ...draft, headers: draft.headers.filter((_, j) => j !== i) })}
            >
              Remove
            </button>
          </div>
        ))}
        {draft.headers.length < MAX_HEADERS && (
          <div>
            <button type="button" className="button" onClick={() => onChange({ ...draft, headers: [...draft.headers, { name: "", value: "" }] })}>
              Add header
            </button>
          </div>
        )}
        {err("headers", `${base}-headers-error`)}
      </fieldset>

      <div className="field option-group">
        <label htmlFor={`${base}-auth`}>Authentication</label>
        <select
          id={`${base}-auth`}
          value={draft.auth.type}
          onChange={(e) => setAuth({ type: e.target.value as AuthType })}
          aria-invalid={errors.auth || errors["auth.type"] ? true : undefined}
          aria-describedby={`${base}-auth-hint`}
        >
          {(Object.keys(AUTH_LABELS) as AuthType[]).map((t) => (
            <option key={t} value={t}>
              {AUTH_LABELS[t]}
            </option>
          ))}
        </select>
        <p className="hint" id={`${base}-auth-hint`}>
          {current?.auth
            ? "Secrets are never shown again. To change the authentication, enter its secret again."
            : "How deliveries prove themselves to your endpoint’s gateway. Secrets are stored encrypted and never shown again."}
        </p>
        {err("auth", `${base}-auth-error`)}
        {err("auth.type", `${base}-auth-type-error`)}
        {draft.auth.type !== "" &&
          AUTH_FIELDS[draft.auth.type].map((f) => {
            const id = `${base}-auth-${f}`;
            const secret = SECRET_FIELDS.has(f);
            return (
              <div className="field sub-field" key={f}>
                <label htmlFor={id}>
                  {FIELD_LABELS[f]}
                  {(f === "scope" || f === "audience") && <span className="muted"> (optional)</span>}
                </label>
                <input
                  id={id}
                  type={secret ? "password" : f === "token_url" ? "url" : "text"}
                  className={secret || f === "token_url" || f === "name" ? "mono" : undefined}
                  spellCheck={false}
                  autoComplete={secret ? "new-password" : "off"}
                  value={draft.auth[f]}
                  placeholder={
                    secret && current?.auth ? "Enter it again to save a change" : f === "token_url" ? "https://auth.example.com/oauth/token" : undefined
                  }
                  onChange={(e) => setAuth({ [f]: e.target.value })}
                  aria-invalid={errors[`auth.${f}`] ? true : undefined}
                  aria-describedby={errors[`auth.${f}`] ? `${id}-error` : undefined}
                />
                {err(`auth.${f}`, `${id}-error`)}
              </div>
            );
          })}
      </div>

      <fieldset className="field option-group">
        <legend className="label">Client certificate</legend>
        {stored && draft.certificate.mode !== "set" && (
          <CertificateSummary certificate={stored} removed={draft.certificate.mode === "remove"}>
            <button type="button" className="button" onClick={() => setCert({ mode: "set" })}>
              Replace
            </button>
            {draft.certificate.mode === "remove" ? (
              <button type="button" className="button" onClick={() => setCert({ mode: "keep" })}>
                Keep
              </button>
            ) : (
              <button type="button" className="button" onClick={() => setCert({ mode: "remove" })}>
                Remove
              </button>
            )}
          </CertificateSummary>
        )}
        {certEditing && (
          <>
            <p className="hint">
              For endpoints that require TLS client authentication (mTLS): the PEM certificate (chain allowed) and its unencrypted private key.
            </p>
            {(["cert", "key"] as const).map((f) => {
              const id = `${base}-cert-${f}`;
              const label = f === "cert" ? "Certificate (PEM)" : "Private key (PEM)";
              return (
                <div className="field sub-field" key={f}>
                  <label htmlFor={id}>{label}</label>
                  <textarea
                    id={id}
                    className="mono pem"
                    rows={3}
                    spellCheck={false}
                    value={draft.certificate[f]}
                    placeholder={f === "cert" ? "-----BEGIN CERTIFICATE-----" : "-----BEGIN PRIVATE KEY-----"}
                    onChange={(e) => setCert({ mode: "set", [f]: e.target.value })}
                    aria-invalid={errors[`client_certificate.${f}`] ? true : undefined}
                    aria-describedby={errors[`client_certificate.${f}`] ? `${id}-error` : undefined}
                  />
                  <label className="upload">
                    <span className="button">{f === "cert" ? "Upload certificate" : "Upload key"}</span>
                    <input type="file" className="visually-hidden" accept=".pem,.crt,.cer,.key,text/plain" onChange={(e) => void upload(f)(e)} />
                  </label>
                  {err(`client_certificate.${f}`, `${id}-error`)}
                </div>
              );
            })}
          </>
        )}
        {err("client_certificate", `${base}-cert-error`)}
      </fieldset>
    </div>
  );
}

/** A stored certificate: who it names, who issued it, when it expires (warned within 14 days). */
export function CertificateSummary({
  certificate,
  removed,
  children,
}: {
  certificate: NonNullable<Webhook["client_certificate"]>;
  removed?: boolean;
  children?: ReactNode;
}) {
  const days = daysLeft(certificate.not_after);
  return (
    <div className={`certificate-summary${removed ? " certificate-removed" : ""}`}>
      <div className="certificate-facts small">
        <div>
          <span className="muted">Subject</span> <span className="mono break">{certificate.subject}</span>
        </div>
        <div>
          <span className="muted">Issuer</span> <span className="mono break">{certificate.issuer}</span>
        </div>
        <div>
          <span className="muted">Expires</span> {new Date(certificate.not_after).toLocaleString()}
          {days < 14 && (
            <span className="warning-text"> {days < 0 ? "(expired)" : `(in ${Math.max(1, Math.ceil(days))} day${Math.ceil(days) > 1 ? "s" : ""})`}</span>
          )}
        </div>
        {removed && <div className="warning-text">Removed when you save.</div>}
      </div>
      {children && <div className="certificate-actions">{children}</div>}
    </div>
  );
}
