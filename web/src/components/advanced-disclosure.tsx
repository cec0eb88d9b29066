import type { ReactNode } from "react";

/** The `Advanced` disclosure of the Add and Edit forms: options most webhooks never need, folded away. */
export function AdvancedDisclosure({ children, open }: { children: ReactNode; open?: boolean }) {
  return (
    <details className="advanced" open={open}>
      <summary>Advanced</summary>
      <div className="advanced-body form">{children}</div>
    </details>
  );
}
