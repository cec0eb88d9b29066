import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, enc, errorMessage } from "../api/client";
import { keys } from "../api/keys";
import type { PortalSession, Project, WebhookList } from "../api/types";
import { CopyIcon, WebhookIcon } from "../components/icons";
import { FormError } from "../components/form-bits";
import { PageError, Shell } from "../components/shell";
import { Skeleton } from "../components/spinner";
import { Time } from "../components/time";
import { useToast } from "../components/toast";
import { navigate } from "../lib/router";
import { useSession } from "../lib/session-context";
import { useApi } from "../lib/queries";

/** A project's settings: general fields, and the Integrations section with the Webhooks card. */
export function ProjectSettings({ projectId }: { projectId: string }) {
  const base = `/projects/${enc(projectId)}`;
  const project = useApi<Project>(keys.project(projectId));
  const hooks = useApi<WebhookList>(keys.webhooks(projectId), { poll: 10_000 });

  if (project.error && !project.data) {
    const notFound = project.error instanceof ApiError && project.error.status === 404;
    return (
      <Shell home="/" crumbs={[{ label: "Projects", to: "/" }, { label: projectId }]}>
        <PageError
          title={notFound ? "Project not found" : undefined}
          message={notFound ? `There is no project “${projectId}”.` : errorMessage(project.error)}
          onRetry={notFound ? undefined : () => void project.refetch()}
        />
      </Shell>
    );
  }
  const p = project.data;
  return (
    <Shell home="/" crumbs={[{ label: "Projects", to: "/" }, { label: p?.name ?? projectId }]} scope={{ projectId, base }}>
      <div className="page-header">
        <div>
          <h1>{p?.name ?? "\u00a0"}</h1>
          <p className="muted">
            Project settings · <code>{projectId}</code>
          </p>
        </div>
      </div>

      {!p ? (
        <div className="card">
          <Skeleton lines={3} />
        </div>
      ) : (
        <GeneralSection project={p} />
      )}

      <section className="section" aria-labelledby="integrations-heading">
        <h2 id="integrations-heading" className="section-title">
          Integrations
        </h2>
        <div className="integration-grid">
          <article className="card integration-card" aria-labelledby="webhooks-card-heading">
            <div className="integration-icon" aria-hidden="true">
              <WebhookIcon size={22} />
            </div>
            <div className="integration-text">
              <h3 id="webhooks-card-heading">Webhooks</h3>
              <p className="muted">Send a signed HTTPS POST to your endpoints whenever something happens in this project.</p>
              <p className="small">
                {hooks.data ? (
                  <>
                    {hooks.data.data.length === 0 ? "No webhooks yet" : `${hooks.data.data.length} webhook${hooks.data.data.length === 1 ? "" : "s"}`} ·{" "}
                    {hooks.data.active_count} of {hooks.data.active_limit} active
                  </>
                ) : (
                  "\u00a0"
                )}
              </p>
            </div>
            <button type="button" className="button" onClick={() => navigate(`${base}/webhooks`)}>
              Configure
            </button>
          </article>
        </div>
      </section>

      <PortalLinkSection projectId={projectId} />
    </Shell>
  );
}

function GeneralSection({ project }: { project: Project }) {
  const { client } = useSession();
  const toast = useToast();
  const queryClient = useQueryClient();
  const put = useMutation({
    mutationFn: (body: { name: string; notification_emails: string[] }) => client.put(`/projects/${enc(project.id)}`, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.project(project.id) }),
  });
  const [name, setName] = useState(project.name);
  const [emails, setEmails] = useState(project.notification_emails.join(", "));
  const [errors, setErrors] = useState<{ name?: string; notification_emails?: string; form?: string }>({});
  useEffect(() => {
    setName(project.name);
    setEmails(project.notification_emails.join(", "));
  }, [project]);
  const dirty = name !== project.name || emails !== project.notification_emails.join(", ");

  async function save(e: FormEvent) {
    e.preventDefault();
    setErrors({});
    try {
      const list = emails
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      await put.mutateAsync({ name, notification_emails: list });
      toast({ message: "Project settings saved" });
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        setErrors({
          name: err.fieldMessage("name"),
          notification_emails: err.details.find((d) => d.field.startsWith("notification_emails"))?.message,
        });
      } else setErrors({ form: errorMessage(err) });
    }
  }

  return (
    <section className="section" aria-labelledby="general-heading">
      <h2 id="general-heading" className="section-title">
        General
      </h2>
      <form className="card form" onSubmit={save} noValidate>
        <div className="field">
          <label htmlFor="project-name">Project name</label>
          <input
            id="project-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!!errors.name || undefined}
            aria-describedby="pn-error"
          />
          {errors.name && (
            <p className="field-error" id="pn-error">
              {errors.name}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor="project-emails">Notification e-mails</label>
          <input
            id="project-emails"
            value={emails}
            onChange={(e) => setEmails(e.target.value)}
            placeholder="ops@example.com, owner@example.com"
            aria-invalid={!!errors.notification_emails || undefined}
            aria-describedby="pe-hint pe-error"
          />
          <p className="hint" id="pe-hint">
            Who hears about it when Hookline disables a webhook after repeated failures. Separate addresses with commas.
          </p>
          {errors.notification_emails && (
            <p className="field-error" id="pe-error">
              {errors.notification_emails}
            </p>
          )}
        </div>
        <FormError>{errors.form}</FormError>
        <div className="form-actions">
          <span className="muted small">
            Created <Time iso={project.created_at} />
          </span>
          <button type="submit" className="button button-primary" disabled={!dirty || put.isPending}>
            Save changes
          </button>
        </div>
      </form>
    </section>
  );
}

/** Mints a portal link so a project owner can manage their own webhooks without the admin token. */
function PortalLinkSection({ projectId }: { projectId: string }) {
  const { client } = useSession();
  const toast = useToast();
  const [role, setRole] = useState<"admin" | "viewer">("admin");
  const [session, setSession] = useState<PortalSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function create() {
    setBusy(true);
    setError(null);
    try {
      setSession(await client.post<PortalSession>(`/projects/${enc(projectId)}/portal-sessions`, { role, ttl_seconds: 3600 }));
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  }

  return (
    <section className="section" aria-labelledby="portal-heading">
      <h2 id="portal-heading" className="section-title">
        Portal link
      </h2>
      <div className="card form">
        <p className="muted">A link that opens this project’s webhooks for one hour, without the admin token. Viewers can look but not change anything.</p>
        <div className="inline-fields">
          <div className="field">
            <label htmlFor="portal-role">Access</label>
            <select id="portal-role" value={role} onChange={(e) => setRole(e.target.value as "admin" | "viewer")}>
              <option value="admin">Can manage webhooks</option>
              <option value="viewer">View only</option>
            </select>
          </div>
          <button type="button" className="button" onClick={create} disabled={busy}>
            Create link
          </button>
        </div>
        <FormError>{error}</FormError>
        {session && (
          <div className="secret-box">
            <code className="mono break">{session.url}</code>
            <button
              type="button"
              className="button button-small"
              onClick={async () => {
                await navigator.clipboard?.writeText(session.url).catch(() => {});
                toast({ message: "Portal link copied" });
              }}
            >
              <CopyIcon /> Copy link
            </button>
            <span className="muted small">
              Expires <Time iso={session.expires_at} />
            </span>
          </div>
        )}
      </div>
    </section>
  );
}
