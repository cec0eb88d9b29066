import { useRef, useState, type FormEvent } from "react";
import { ApiError, enc, errorMessage } from "../api/client";
import { keys } from "../api/keys";
import type { Project } from "../api/types";
import { Dialog } from "../components/dialog";
import { FormError } from "../components/form-bits";
import { ArrowRightIcon, PlusIcon } from "../components/icons";
import { PageError, Shell } from "../components/shell";
import { Skeleton } from "../components/spinner";
import { Time } from "../components/time";
import { useToast } from "../components/toast";
import { Link, navigate } from "../lib/router";
import { useSession } from "../lib/session-context";
import { useApi } from "../lib/queries";

export function ProjectsPage() {
  const res = useApi<{ data: Project[] }>(keys.projects(), { poll: 15_000 });
  const [adding, setAdding] = useState(false);
  const projects = res.data?.data ?? [];

  return (
    <Shell home="/" crumbs={[{ label: "Projects" }]}>
      <div className="page-header">
        <div>
          <h1>Projects</h1>
          <p className="muted">Each project of your application has its own webhooks, delivery log and notifications.</p>
        </div>
        <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
          <PlusIcon /> New project
        </button>
      </div>
      {res.error && !res.data ? (
        <PageError message={errorMessage(res.error)} onRetry={() => void res.refetch()} />
      ) : !res.data ? (
        <div className="card">
          <Skeleton lines={4} />
        </div>
      ) : projects.length === 0 ? (
        <div className="card empty">
          <h2>No projects yet</h2>
          <p className="muted">
            Your application creates projects through the API (<code>PUT /api/v1/projects/&#123;id&#125;</code>), or create one here with{" "}
            <strong>New project</strong>.
          </p>
        </div>
      ) : (
        <ul className="project-list card">
          {projects.map((p) => (
            <li key={p.id} className="project-row">
              <span className="project-avatar" aria-hidden="true">
                {p.name.trim().charAt(0).toUpperCase() || "?"}
              </span>
              <span className="project-text">
                <Link to={`/projects/${enc(p.id)}`} className="project-link">
                  {p.name}
                </Link>
                <span className="muted small">
                  <code>{p.id}</code> · created <Time iso={p.created_at} relative />
                </span>
              </span>
              <ArrowRightIcon className="row-arrow" />
            </li>
          ))}
        </ul>
      )}
      {adding && (
        <NewProjectDialog
          onClose={() => setAdding(false)}
          onCreated={(p) => {
            setAdding(false);
            navigate(`/projects/${enc(p.id)}`);
          }}
        />
      )}
    </Shell>
  );
}

function NewProjectDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (p: Project) => void }) {
  const { client } = useSession();
  const toast = useToast();
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<{ id?: string; name?: string; form?: string }>({});
  const formRef = useRef<HTMLFormElement>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const next: typeof errors = {};
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) next.id = "Use 1–64 letters, digits, dots, dashes or underscores.";
    if (!name.trim()) next.name = "Enter a name.";
    setErrors(next);
    if (next.id || next.name) return;
    setBusy(true);
    try {
      const existing = await client.get<Project>(`/projects/${enc(id)}`).catch((err) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
      if (existing) {
        setErrors({ id: `A project with the ID “${id}” already exists.` });
        setBusy(false);
        return;
      }
      const p = await client.put<Project>(`/projects/${enc(id)}`, { name: name.trim() });
      toast({ message: `Project ${p.name} created` });
      onCreated(p);
    } catch (err) {
      if (err instanceof ApiError && err.details.length) {
        setErrors({ name: err.fieldMessage("name"), id: err.fieldMessage("id"), form: err.message });
      } else setErrors({ form: errorMessage(err) });
      setBusy(false);
    }
  }

  return (
    <Dialog
      title="New project"
      onClose={onClose}
      busy={busy}
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button button-primary" disabled={busy} onClick={() => formRef.current?.requestSubmit()}>
            Create project
          </button>
        </>
      }
    >
      <form ref={formRef} onSubmit={submit} noValidate className="form">
        <div className="field">
          <label htmlFor="project-id">Project ID</label>
          <input
            id="project-id"
            value={id}
            onChange={(e) => setId(e.target.value)}
            spellCheck={false}
            aria-invalid={!!errors.id || undefined}
            aria-describedby="project-id-hint project-id-error"
          />
          <p className="hint" id="project-id-hint">
            Your application’s own ID for the project; it cannot be changed later.
          </p>
          {errors.id && (
            <p className="field-error" id="project-id-error">
              {errors.id}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor="project-name">Project name</label>
          <input
            id="project-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!!errors.name || undefined}
            aria-describedby="project-name-error"
          />
          {errors.name && (
            <p className="field-error" id="project-name-error">
              {errors.name}
            </p>
          )}
        </div>
        <FormError>{!errors.id && !errors.name && errors.form}</FormError>
        <button type="submit" hidden />
      </form>
    </Dialog>
  );
}
