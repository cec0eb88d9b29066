/** The first few subscribed events as chips, "+N more" for the rest (all of them on hover). */
export function EventChips({ events, max = 2 }: { events: string[]; max?: number }) {
  const shown = events.slice(0, max);
  const rest = events.length - shown.length;
  return (
    <span className="chips" title={events.join("\n")}>
      {shown.map((e) => (
        <span key={e} className="chip mono">
          {e}
        </span>
      ))}
      {rest > 0 && <span className="chip chip-more">+{rest} more</span>}
    </span>
  );
}
