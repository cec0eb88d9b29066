import { createContext, useContext } from "react";
import type { ApiClient } from "../api/client";

export interface Session {
  client: ApiClient;
  mode: "admin" | "portal";
  /** False for portal viewer tokens: every write control is hidden. */
  canWrite: boolean;
  /** The admin may reveal secrets and manage projects; portal admins may reveal their own. */
  signOut?: () => void;
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
