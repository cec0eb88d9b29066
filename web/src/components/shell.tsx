import { useEffect, type ReactNode } from "react";
import { Link } from "../lib/router";
import { useSession, type ProjectScope } from "../lib/session-context";
import { LogoIcon } from "./icons";
import { NotificationsBell } from "./notifications";

export interface Crumb {
  label: string;
  to?: string;
}

/** Top bar (logo, breadcrumb, bell, sign out) around one page; embedded in a host app, a slim bar with the breadcrumb and bell. */
export function Shell({ crumbs = [], scope, children, home }: { crumbs?: Crumb[]; scope?: ProjectScope; children: ReactNode; home: string }) {
  const session = useSession();
  const title = [...crumbs]
    .reverse()
    .map((c) => c.label)
    .join(" · ");
  useEffect(() => {
    document.title = title ? `${title} — Hookline` : "Hookline";
  }, [title]);
  const breadcrumbs = crumbs.length > 0 && (
    <nav aria-label="Breadcrumb" className="crumbs">
      <ol>
        {crumbs.map((c, i) => (
          <li key={i}>
            {c.to && i < crumbs.length - 1 ? (
              <Link to={c.to}>{c.label}</Link>
            ) : (
              <span aria-current={i === crumbs.length - 1 ? "page" : undefined}>{c.label}</span>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
  const actions = (
    <div className="topbar-actions">
      {!session.canWrite && <span className="badge badge-neutral">View only</span>}
      {scope && <NotificationsBell scope={scope} />}
      {session.signOut && (
        <button type="button" className="button button-ghost button-small" onClick={session.signOut}>
          Sign out
        </button>
      )}
    </div>
  );
  // Inside a host app's page: no brand, sign-out or project; the host shows its own around the frame.
  const bar = session.embedded ? (
    <div className="embed-bar">
      {crumbs.length > 1 ? breadcrumbs : <span />}
      {actions}
    </div>
  ) : (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to={home} className="brand">
          <LogoIcon size={26} />
          <span className="brand-name">Hookline</span>
        </Link>
        {breadcrumbs}
        {actions}
      </div>
    </header>
  );
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      {bar}
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

export function PageError({ title = "Something went wrong", message, onRetry }: { title?: string; message: string; onRetry?: () => void }) {
  return (
    <div className="page-state" role="alert">
      <h1 className="page-state-title">{title}</h1>
      <p>{message}</p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
