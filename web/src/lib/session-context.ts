import { createContext, useContext } from "react";
import type { ApiClient } from "../api/client";

export interface Session {
  client: ApiClient;
  mode: "admin" | "portal";
  /** False for portal viewer tokens: every write control is hidden. */
  canWrite: boolean;
  /** Forgets the stored token and returns to the sign-in page (the admin entry only; a portal link has no sign-out). */
  signOut?: () => void;
  /** A portal inside a host app's iframe (docs/host-apps.md): no top bar. */
  embedded?: boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside of a session");
  return s;
}

/** Where the webhook pages of one project live: `/projects/acme` for the admin, `/portal` in a portal. */
export interface ProjectScope {
  projectId: string;
  base: string;
}
