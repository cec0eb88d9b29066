import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, createClient, enc, errorMessage, type ApiClient } from "./api/client";
import { keys } from "./api/keys";
import type { Me, Project } from "./api/types";
import { PageError, Shell } from "./components/shell";
import { Skeleton } from "./components/spinner";
import { ToastProvider } from "./components/toast";
import { ProjectFrameContext } from "./lib/project-frame";
import { Link, matchPath, usePath } from "./lib/router";
import { applyTheme, takeEmbedOptionsFromHash, type EmbedOptions } from "./lib/embed";
import { createEmbeddedSession, type EmbeddedSession } from "./lib/embedded-session";
import { adminToken, portalToken, takePortalTokenFromHash } from "./lib/session";
import { SessionContext, type Session } from "./lib/session-context";
import { ApiQueries, useApi } from "./lib/queries";
import { ProjectSettings } from "./pages/project-settings";
import { ProjectsPage } from "./pages/projects";
import { SignIn } from "./pages/sign-in";
import { EventDetailPage } from "./pages/event-detail";
import { WebhookDetail } from "./pages/webhook-detail";
import { WebhooksOverview } from "./pages/webhooks-overview";

// Before the first render, so the token never lingers in the address bar and the page never shows
// in the wrong colours.
const onPortal = /^\/portal(\/|$)/.test(window.location.pathname);
const portalLook: EmbedOptions = onPortal ? takeEmbedOptionsFromHash() : { embed: false };
if (window.location.pathname.replace(/\/+$/, "") === "/portal") takePortalTokenFromHash();
if (onPortal) applyTheme(portalLook);

export function App() {
  const path = usePath();
  // After an in-app navigation the clicked link is gone; start keyboard and screen-reader users at
  // the top of the new page's content instead of the document body.
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement === null) {
      document.getElementById("main")?.focus({ preventScroll: true });
    }
  }, [path]);
  const portal = path === "/portal" || path.startsWith("/portal/");
  return <ToastProvider>{portal ? <PortalApp path={path} /> : <AdminApp path={path} />}</ToastProvider>;
}

/** `/`: the admin token, asked once and kept in session storage. */
function AdminApp({ path }: { path: string }) {
  const [token, setToken] = useState(() => adminToken.get());
  const [notice, setNotice] = useState<string | undefined>();
  const signOut = useCallback((message?: string) => {
    adminToken.clear();
    setNotice(message);
    setToken(null);
  }, []);
  const session = useMemo<Session | null>(() => {
    if (!token) return null;
    return {
      client: createClient(token, () => signOut("The admin token is no longer accepted. Sign in again.")),
      mode: "admin",
      canWrite: true,
      signOut: () => signOut(),
    };
  }, [token, signOut]);

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          adminToken.set(t);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <ApiQueries client={session.client}>
        <AdminRoutes path={path} />
      </ApiQueries>
    </SessionContext.Provider>
  );
}

function AdminRoutes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/" || path === "") return <ProjectsPage />;
  if ((m = matchPath("/projects/:pid", path))) return <ProjectSettings key={m.pid} projectId={m.pid} />;
  if ((m = matchPath("/projects/:pid/webhooks", path)))
    return (
      <AdminProject projectId={m.pid}>
        <WebhooksOverview />
      </AdminProject>
    );
  if ((m = matchPath("/projects/:pid/webhooks/:wid", path)))
    return (
      <AdminProject projectId={m.pid}>
        <WebhookDetail key={m.wid} webhookId={m.wid} />
      </AdminProject>
    );
  if ((m = matchPath("/projects/:pid/events/:eid", path)))
    return (
      <AdminProject projectId={m.pid}>
        <EventDetailPage key={m.eid} eventId={m.eid} />
      </AdminProject>
    );
  return <NotFound home="/" />;
}

function AdminProject({ projectId, children }: { projectId: string; children: ReactNode }) {
  const base = `/projects/${enc(projectId)}`;
  const project = useApi<Project>(keys.project(projectId));
  const frame = useMemo(
    () => ({
      projectId,
      base,
      home: "/",
      project: project.data,
      crumbs: [
        { label: "Projects", to: "/" },
        { label: project.data?.name ?? projectId, to: base },
      ],
    }),
    [projectId, base, project.data],
  );
  if (project.error instanceof ApiError && project.error.status === 404) {
    return (
      <Shell home="/" crumbs={[{ label: "Projects", to: "/" }, { label: projectId }]}>
        <PageError title="Project not found" message={`There is no project “${projectId}”.`} />
      </Shell>
    );
  }
  return <ProjectFrameContext.Provider value={frame}>{children}</ProjectFrameContext.Provider>;
}

/** `/portal#token=…`: one project's webhooks, with a portal token (admin or viewer). */
function PortalApp({ path }: { path: string }) {
  const [token] = useState(() => portalToken.get());
  const [expired, setExpired] = useState(false);
  // Embedded, the host hands over fresh tokens; on its own, an expired link is the end.
  const [embedded] = useState(() => (portalLook.embed ? createEmbeddedSession(portalLook, () => setExpired(true)) : undefined));
  const client = useMemo(() => embedded?.client ?? (token ? createClient(token, () => setExpired(true)) : null), [embedded, token]);
  useEffect(() => {
    let stop: (() => void) | undefined;
    void embedded?.host.then((host) => (stop = host?.reportHeight()));
    return () => stop?.();
  }, [embedded]);
  useEffect(() => {
    void embedded?.host.then((host) => host?.post({ type: "hookline:navigate", path }));
  }, [embedded, path]);
  if (!client || expired) return <LinkExpired />;
  return (
    <ApiQueries client={client}>
      <PortalHome path={path} client={client} embedded={embedded} />
    </ApiQueries>
  );
}

function PortalHome({ path, client, embedded }: { path: string; client: ApiClient; embedded?: EmbeddedSession }) {
  const me = useApi<Me>(keys.me());
  const queryClient = useQueryClient();
  const expiresAt = me.data?.expires_at;
  useEffect(() => {
    if (embedded && expiresAt) return embedded.renewAt(expiresAt, () => void queryClient.invalidateQueries({ queryKey: keys.me() }));
  }, [embedded, expiresAt, queryClient]);
  if (me.error instanceof ApiError && me.error.status === 401) return <LinkExpired />;
  if (me.error) {
    return <PortalMessage title="Could not open the portal">{errorMessage(me.error)}</PortalMessage>;
  }
  if (!me.data) {
    return (
      <main className="main">
        <Skeleton lines={4} />
      </main>
    );
  }
  if (me.data.kind !== "portal" || !me.data.project_id) {
    return (
      <PortalMessage title="Not a portal link">
        This token is not tied to a project. <Link to="/">Open the admin pages</Link> instead.
      </PortalMessage>
    );
  }
  const session: Session = { client, mode: "portal", canWrite: me.data.role === "admin", embedded: !!embedded };
  return (
    <SessionContext.Provider value={session}>
      <PortalRoutes path={path} projectId={me.data.project_id} embedded={!!embedded} />
    </SessionContext.Provider>
  );
}

function PortalRoutes({ path, projectId, embedded }: { path: string; projectId: string; embedded: boolean }) {
  const project = useApi<Project>(keys.project(projectId));
  // Embedded, the host app's page already says which project this is.
  const frame = useMemo(
    () => ({ projectId, base: "/portal", home: "/portal", project: project.data, crumbs: embedded ? [] : [{ label: project.data?.name ?? projectId }] }),
    [projectId, project.data, embedded],
  );
  let content: ReactNode;
  let m: Record<string, string> | null;
  if (matchPath("/portal", path) || matchPath("/portal/webhooks", path)) content = <WebhooksOverview />;
  else if ((m = matchPath("/portal/webhooks/:wid", path))) content = <WebhookDetail key={m.wid} webhookId={m.wid} />;
  else if ((m = matchPath("/portal/events/:eid", path))) content = <EventDetailPage key={m.eid} eventId={m.eid} />;
  else content = <NotFound home="/portal" />;
  return <ProjectFrameContext.Provider value={frame}>{content}</ProjectFrameContext.Provider>;
}

function LinkExpired() {
  return (
    <PortalMessage title="This link has expired">
      Portal links work for a limited time. Ask the person who sent it for a new one, or go back to the application you came from.
    </PortalMessage>
  );
}

function PortalMessage({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main id="main" className="signin">
      <div className="card signin-card">
        <h1>{title}</h1>
        <p className="muted">{children}</p>
      </div>
    </main>
  );
}

function NotFound({ home }: { home: string }) {
  return (
    <Shell home={home}>
      <div className="page-state">
        <h1 className="page-state-title">Page not found</h1>
        <p className="muted">There is nothing at this address.</p>
        <Link to={home} className="button">
          Go to the start page
        </Link>
      </div>
    </Shell>
  );
}
