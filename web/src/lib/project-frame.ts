import { createContext, useContext } from "react";
import type { Project } from "../api/types";
import type { Crumb } from "../components/shell";

/** The project the webhook pages are showing, and where they live in the URL space. */
export interface ProjectFrame {
  projectId: string;
  /** `/projects/acme` (admin) or `/portal` (portal token): webhook pages are under `${base}/webhooks`. */
  base: string;
  home: string;
  project: Project | undefined;
  /** Breadcrumbs up to and including the project. */
  crumbs: Crumb[];
}

export const ProjectFrameContext = createContext<ProjectFrame | null>(null);

export function useProjectFrame(): ProjectFrame {
  const f = useContext(ProjectFrameContext);
  if (!f) throw new Error("useProjectFrame outside of a project");
  return f;
}
