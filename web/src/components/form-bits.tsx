import { useEffect, useId, useRef, useState, type InputHTMLAttributes, type ReactNode } from "react";
import type { EventType } from "../api/types";
import { BodyView } from "./json-view";
import { groupEventTypes, humanGroup } from "../lib/event-types";

/** A checkbox drawn as a switch; role="switch" so it is announced (and found) as one. */
export function Switch({ label, hint, error, id, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: ReactNode; error?: string }) {
  const auto = useId();
  const inputId = id ?? auto;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const describedBy = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className="switch-field">
      <span className="switch">
        <input type="checkbox" role="switch" id={inputId} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...input} />
        <span className="switch-track" aria-hidden="true" />
      </span>
      <span className="switch-text">
        <label htmlFor={inputId}>{label}</label>
        {hint && (
          <span className="hint" id={hintId}>
            {hint}
          </span>
        )}
        <FieldError id={errorId} message={error} />
      </span>
    </div>
  );
}

/** A failed request's message inside a dialog or form, announced when it appears. */
export function FormError({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p className="form-error" role="alert">
      {children}
    </p>
  );
}

export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p className="field-error" id={id}>
      {message}
    </p>
  );
}

/**
 * The event checkboxes, grouped by resource, each labelled with exactly its name (the description
 * is its accessible description and tooltip), plus a tri-state "Select all".
 */
export function EventPicker({
  types,
  selected,
  onChange,
  error,
  legendVisible = true,
  disabled,
  examples = false,
}: {
  types: EventType[];
  selected: string[];
  onChange: (events: string[]) => void;
  error?: string;
  legendVisible?: boolean;
  disabled?: boolean;
  /** Offer each type's example payload (`Show example of <name>`), shown below the list on demand. */
  examples?: boolean;
}) {
  const base = useId();
  const [exampleOf, setExampleOf] = useState<string | null>(null);
  const exampleId = `${base}-example`;
  const shown = exampleOf === null ? undefined : types.find((t) => t.name === exampleOf);
  const legendId = `${base}-legend`;
  const errorId = `${base}-error`;
  const allRef = useRef<HTMLInputElement>(null);
  const names = types.map((t) => t.name);
  const chosen = selected.filter((s) => names.includes(s));
  const all = names.length > 0 && chosen.length === names.length;
  const some = chosen.length > 0 && !all;
  useEffect(() => {
    if (allRef.current) allRef.current.indeterminate = some;
  }, [some]);
  // Unknown names (removed from the catalog) stay selected so saving does not drop them silently.
  const unknown = selected.filter((s) => !names.includes(s));

  function toggle(name: string, on: boolean) {
    const set = new Set(selected);
    if (on) set.add(name);
    else set.delete(name);
    // Keep catalog order: easier to scan in the table later.
    onChange([...names.filter((n) => set.has(n)), ...unknown.filter((n) => set.has(n))]);
  }

  return (
    <fieldset
      className="event-picker"
      aria-labelledby={legendId}
      aria-describedby={error ? errorId : undefined}
      aria-invalid={error ? true : undefined}
      disabled={disabled}
    >
      <legend id={legendId} className={legendVisible ? "label" : "visually-hidden"}>
        Events
      </legend>
      <div className="event-picker-head">
        <label className="checkbox">
          <input
            type="checkbox"
            ref={allRef}
            checked={all}
            onChange={(e) => onChange(e.target.checked ? [...names, ...unknown] : [])}
            aria-describedby={`${base}-count`}
          />
          Select all
        </label>
        <span className="muted small" id={`${base}-count`}>
          {chosen.length} of {names.length} selected
        </span>
      </div>
      <div className="event-groups">
        {groupEventTypes(types).map(([group, items]) => (
          <div className="event-group" key={group}>
            <div className="event-group-title" aria-hidden="true">
              {humanGroup(group)}
            </div>
            {items.map((t) => {
              const id = `${base}-${t.name}`;
              return (
                <div className="event-option" key={t.name} title={t.description}>
                  <input
                    type="checkbox"
                    id={id}
                    checked={selected.includes(t.name)}
                    onChange={(e) => toggle(t.name, e.target.checked)}
                    aria-description={t.description || undefined}
                  />
                  <label htmlFor={id} className="mono" title={t.name}>
                    {t.name}
                  </label>
                  {examples && (
                    <button
                      type="button"
                      className="example-toggle"
                      aria-label={`Show example of ${t.name}`}
                      aria-expanded={exampleOf === t.name}
                      aria-controls={exampleOf === t.name ? exampleId : undefined}
                      onClick={() => setExampleOf(exampleOf === t.name ? null : t.name)}
                    >
                      {"{ }"}
                    </button>
                  )}
                </div>
              );
            })}
          </div>
        ))}
        {unknown.length > 0 && (
          <div className="event-group">
            <div className="event-group-title">No longer in the catalog</div>
            {unknown.map((name) => (
              <div className="event-option" key={name}>
                <input type="checkbox" id={`${base}-u-${name}`} checked onChange={(e) => toggle(name, e.target.checked)} />
                <label htmlFor={`${base}-u-${name}`} className="mono">
                  {name}
                </label>
              </div>
            ))}
          </div>
        )}
      </div>
      {shown && (
        <section className="event-example" id={exampleId} aria-label={`Example payload of ${shown.name}`}>
          <p className="small">
            Example payload of <span className="mono">{shown.name}</span>: the body a webhook receives
          </p>
          <BodyView body={JSON.stringify(examplePayload(shown))} label={`example of ${shown.name}`} />
        </section>
      )}
      <FieldError id={errorId} message={error} />
    </fieldset>
  );
}

/** The delivery body for a type's example subject (ids and time are placeholders). */
function examplePayload(t: EventType) {
  return { id: "evt_01JD2Z0X7E8Q4W5R6T7Y8U9I0P", event: t.name, created_at: "2026-01-01T12:00:00.000Z", project_id: "acme", subject: t.example ?? {} };
}
