import { formatDateTime, formatExact, formatRelative } from "../lib/format";
import { useNow } from "../lib/use-resource";

/** A time in the user's locale; the exact instant (to the millisecond, with zone) on hover. */
export function Time({ iso, relative = false, className }: { iso: string; relative?: boolean; className?: string }) {
  const now = useNow(relative ? 15_000 : 3_600_000);
  return (
    <time dateTime={iso} title={formatExact(iso)} className={className}>
      {relative ? formatRelative(iso, now) : formatDateTime(iso)}
    </time>
  );
}
