import { useEffect, useId, useLayoutEffect, useRef, type ReactNode } from "react";
import { createPortal } from "react-dom";
import { useRequest } from "../lib/use-request";
import { FormError } from "./form-bits";
import { CrossIcon } from "./icons";

let openDialogs = 0;

/** While a modal is open the page behind it is hidden from assistive tech (and from role queries). */
function hideApp(hidden: boolean) {
  const root = document.getElementById("root");
  if (!root) return;
  openDialogs += hidden ? 1 : -1;
  if (openDialogs > 0) root.setAttribute("aria-hidden", "true");
  else root.removeAttribute("aria-hidden");
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  /** Element to focus first; default: the first field, else the first button. */
  initialFocus?: React.RefObject<HTMLElement | null>;
  /** Escape and the close button do nothing while a request runs. */
  busy?: boolean;
  size?: "small" | "large";
  description?: ReactNode;
}

/**
 * A modal dialog on the native <dialog> element: top layer, backdrop, inert page behind. Focus is
 * kept inside (Tab wraps), Escape closes, and focus returns to where it was when the dialog closes.
 */
export function Dialog({ title, onClose, children, footer, initialFocus, busy, size = "small", description }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  const busyRef = useRef(busy);
  busyRef.current = busy;

  useLayoutEffect(() => {
    const dialog = ref.current!;
    const previouslyFocused = document.activeElement as HTMLElement | null;
    hideApp(true);
    dialog.showModal();
    const target =
      initialFocus?.current ??
      dialog.querySelector<HTMLElement>("[data-autofocus]") ??
      dialog.querySelector<HTMLElement>(".dialog-body input:not([type=hidden]), .dialog-body textarea, .dialog-body select") ??
      dialog.querySelector<HTMLElement>(".dialog-footer button");
    target?.focus();
    return () => {
      hideApp(false);
      if (dialog.open) dialog.close();
      // The opener may have been replaced (e.g. a menu item); fall back gracefully.
      if (previouslyFocused && previouslyFocused.isConnected) previouslyFocused.focus();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const dialog = ref.current!;
    function onCancel(e: Event) {
      e.preventDefault();
      if (!busyRef.current) onCloseRef.current();
    }
    function onKeyDown(e: KeyboardEvent) {
      if (e.key !== "Tab") return;
      const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        first.focus();
      }
    }
    dialog.addEventListener("cancel", onCancel);
    dialog.addEventListener("keydown", onKeyDown);
    return () => {
      dialog.removeEventListener("cancel", onCancel);
      dialog.removeEventListener("keydown", onKeyDown);
    };
  }, []);

  return createPortal(
    <dialog ref={ref} className={`dialog dialog-${size}`} aria-labelledby={titleId} aria-describedby={description ? descId : undefined}>
      <div className="dialog-header">
        <h2 id={titleId} className="dialog-title">
          {title}
        </h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={() => !busy && onClose()} disabled={busy}>
          <CrossIcon />
        </button>
      </div>
      <div className="dialog-body">
        {description && (
          <div id={descId} className="dialog-description">
            {description}
          </div>
        )}
        {children}
      </div>
      {footer && <div className="dialog-footer">{footer}</div>}
    </dialog>,
    document.body,
  );
}

/** A dialog's Cancel and its action; the action shows a spinner while its request runs. */
export function DialogActions({
  label,
  onAction,
  onCancel,
  busy,
  tone = "primary",
  cancelRef,
  actionRef,
  autoFocus = false,
}: {
  label: string;
  onAction: () => void;
  onCancel: () => void;
  busy: boolean;
  tone?: "primary" | "danger";
  cancelRef?: React.Ref<HTMLButtonElement>;
  actionRef?: React.Ref<HTMLButtonElement>;
  /** Focus the action when the dialog opens. */
  autoFocus?: boolean;
}) {
  return (
    <>
      <button type="button" className="button" ref={cancelRef} onClick={onCancel} disabled={busy}>
        Cancel
      </button>
      <button
        type="button"
        className={`button button-${tone}`}
        ref={actionRef}
        onClick={onAction}
        disabled={busy}
        aria-busy={busy || undefined}
        data-autofocus={autoFocus || undefined}
      >
        {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
        {label}
      </button>
    </>
  );
}

export interface ConfirmDialogProps {
  title: string;
  confirmLabel: string;
  tone?: "primary" | "danger";
  description: ReactNode;
  children?: ReactNode;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** A yes/no dialog around one request; the request's error is shown inside, the dialog stays open. */
export function ConfirmDialog({ title, confirmLabel, tone = "primary", description, children, onConfirm, onClose }: ConfirmDialogProps) {
  const { busy, error, run } = useRequest();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);

  return (
    <Dialog
      title={title}
      onClose={onClose}
      busy={busy}
      description={description}
      // Destructive actions start on Cancel; harmless ones on the action itself.
      initialFocus={tone === "danger" ? cancelRef : confirmRef}
      footer={
        <DialogActions
          label={confirmLabel}
          tone={tone}
          busy={busy}
          onAction={() => run(onConfirm)}
          onCancel={onClose}
          cancelRef={cancelRef}
          actionRef={confirmRef}
        />
      }
    >
      {children}
      <FormError>{error}</FormError>
    </Dialog>
  );
}
