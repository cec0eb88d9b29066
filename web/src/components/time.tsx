import { useEffect, useState } from "react";
import { formatDateTime, formatExact, formatRelative } from "../lib/format";

/** Re-renders every `ms` so relative times ("2 minutes ago") stay true. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}

/** A time in the user's locale; the exact instant (to the millisecond, with zone) on hover. */
export function Time({ iso, relative = false, className }: { iso: string; relative?: boolean; className?: string }) {
  const now = useNow(relative ? 15_000 : 3_600_000);
  return (
    <time dateTime={iso} title={formatExact(iso)} className={className}>
      {relative ? formatRelative(iso, now) : formatDateTime(iso)}
    </time>
  );
}
