import { useId, useState, type ReactNode } from "react";

/**
 * The `Advanced` disclosure of the Add and Edit forms: a button with `aria-expanded` that shows the
 * less common webhook options (receiver options, delivery policies) beneath it. `open` lets a form
 * open it itself, e.g. when the server names a field inside it.
 */
export function AdvancedDisclosure({ children, open, summary }: { children: ReactNode; open?: boolean; summary?: ReactNode }) {
  const id = useId();
  const [shown, setShown] = useState(false);
  const expanded = shown || open === true;
  return (
    <div className="advanced">
      <button type="button" className="advanced-toggle" aria-expanded={expanded} aria-controls={id} onClick={() => setShown(!expanded)}>
        <span className="advanced-caret" aria-hidden="true">
          {expanded ? "▾" : "▸"}
        </span>
        Advanced
        {!expanded && summary && <span className="muted small advanced-summary">{summary}</span>}
      </button>
      <div id={id} className="advanced-body" hidden={!expanded}>
        {children}
      </div>
    </div>
  );
}
