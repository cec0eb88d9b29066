import { useEffect, useId, useRef, useState } from "react";
import { errorMessage } from "../api/client";
import type { ApiKey } from "../api/keys";
import type { Stats, StatsBucket } from "../api/types";
import { Skeleton } from "../components/spinner";
import { formatDuration, formatHour } from "../lib/format";
import { useApi } from "../lib/queries";

const PAD = { left: 36, right: 8, top: 8, bottom: 22 };
const BARS_H = 150;
const LAT_H = 110;

/** Round up to 1, 2 or 5 × 10^n so gridlines land on readable values. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setWidth(Math.max(240, Math.floor(entry.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

/** Last 24 h per hour: stacked succeeded/failed bars, and p50/p95 latency lines. Hand-drawn SVG. */
export function DeliveryChart({ statsKey, refreshKey }: { statsKey: ApiKey; refreshKey: string | null }) {
  const res = useApi<Stats>(statsKey, { poll: 30_000 });
  const reload = res.refetch;
  // A new log entry means the current hour changed: fetch again (debounced).
  useEffect(() => {
    if (!refreshKey) return;
    const id = window.setTimeout(() => void reload(), 600);
    return () => window.clearTimeout(id);
  }, [refreshKey, reload]);

  return (
    <section className="card chart-card" aria-labelledby="chart-heading">
      <div className="card-head">
        <h2 id="chart-heading" className="card-title">
          Last 24 hours
        </h2>
        {res.data && <Totals buckets={res.data.buckets} />}
      </div>
      {res.error && !res.data ? (
        <p className="muted small">Could not load the chart: {errorMessage(res.error)}</p>
      ) : !res.data ? (
        <Skeleton lines={5} />
      ) : (
        <Charts buckets={res.data.buckets} />
      )}
    </section>
  );
}

function Totals({ buckets }: { buckets: StatsBucket[] }) {
  const ok = buckets.reduce((n, b) => n + b.succeeded, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const total = ok + failed;
  return (
    <p className="chart-totals small">
      <span>
        <span className="legend-swatch swatch-ok" aria-hidden="true" /> {ok} succeeded
      </span>
      <span>
        <span className="legend-swatch swatch-fail" aria-hidden="true" /> {failed} failed
      </span>
      {total > 0 && <span className="muted">{formatRate(ok, total)} success</span>}
    </p>
  );
}

function formatRate(ok: number, total: number): string {
  const pct = (ok / total) * 100;
  return `${Number.isInteger(pct) ? pct : pct.toFixed(1)}%`;
}

function Charts({ buckets }: { buckets: StatsBucket[] }) {
  const [wrapRef, width] = useWidth<HTMLDivElement>();
  const [hover, setHover] = useState<number | null>(null);
  const ids = useId();
  const n = Math.max(1, buckets.length);
  const plotW = width - PAD.left - PAD.right;
  const step = plotW / n;
  const barW = Math.max(2, step * 0.7);
  const x = (i: number) => PAD.left + i * step;

  const maxCount = niceMax(Math.max(0, ...buckets.map((b) => b.succeeded + b.failed)));
  const countY = (v: number) => PAD.top + (BARS_H - PAD.top - PAD.bottom) * (1 - v / maxCount);
  const latencies = buckets.flatMap((b) => [b.p50_ms, b.p95_ms]).filter((v): v is number => v !== null);
  const maxLat = niceMax(Math.max(0, ...latencies));
  const latY = (v: number) => PAD.top + (LAT_H - PAD.top - PAD.bottom) * (1 - v / maxLat);
  const empty = buckets.every((b) => b.succeeded + b.failed === 0);

  const ok = buckets.reduce((s, b) => s + b.succeeded, 0);
  const failed = buckets.reduce((s, b) => s + b.failed, 0);
  const summary = empty ? "None." : `${ok} delivered, ${failed} not delivered. Busiest hour ${describeBusiest(buckets)}.`;

  function onMove(e: React.PointerEvent<SVGSVGElement>) {
    const rect = e.currentTarget.getBoundingClientRect();
    const px = ((e.clientX - rect.left) / rect.width) * width;
    const i = Math.floor((px - PAD.left) / step);
    setHover(i >= 0 && i < n ? i : null);
  }

  const hb = hover !== null ? buckets[hover] : null;
  const tipLeft = hover !== null ? Math.min(Math.max(x(hover) + step / 2, 90), width - 90) : 0;

  // The numbers go in descriptions, not names: "succeeded"/"failed" name the log's icons.
  const latencySummary = latencies.length ? `Highest p95 ${formatDuration(Math.max(...buckets.map((b) => b.p95_ms ?? 0)))}.` : "No data.";
  return (
    <div className="charts" ref={wrapRef}>
      <p id={`${ids}-bars`} className="visually-hidden">
        {summary}
      </p>
      <p id={`${ids}-latency`} className="visually-hidden">
        {latencySummary}
      </p>
      <div className="chart-block">
        <div className="chart-label small muted">Deliveries per hour</div>
        <svg
          width={width}
          height={BARS_H}
          viewBox={`0 0 ${width} ${BARS_H}`}
          role="img"
          aria-label="Deliveries per hour"
          aria-describedby={`${ids}-bars`}
          onPointerMove={onMove}
          onPointerLeave={() => setHover(null)}
        >
          <Grid max={maxCount} y={countY} width={width} format={(v) => String(v)} integer />
          {buckets.map((b, i) => {
            const okTop = countY(b.succeeded);
            const failTop = countY(b.succeeded + b.failed);
            return (
              <g key={b.start} opacity={hover === null || hover === i ? 1 : 0.45}>
                {b.succeeded > 0 && <rect className="bar-ok" x={x(i) + (step - barW) / 2} y={okTop} width={barW} height={countY(0) - okTop} rx={1.5} />}
                {b.failed > 0 && <rect className="bar-fail" x={x(i) + (step - barW) / 2} y={failTop} width={barW} height={okTop - failTop} rx={1.5} />}
              </g>
            );
          })}
          <XLabels buckets={buckets} x={x} step={step} y={BARS_H - 6} />
          {empty && (
            <text x={PAD.left + plotW / 2} y={BARS_H / 2} textAnchor="middle" className="chart-empty">
              No deliveries in the last 24 hours
            </text>
          )}
        </svg>
      </div>
      <div className="chart-block">
        <div className="chart-label small muted">
          Latency <span className="legend-line line-p50" aria-hidden="true" /> p50 <span className="legend-line line-p95" aria-hidden="true" /> p95
        </div>
        <svg
          width={width}
          height={LAT_H}
          viewBox={`0 0 ${width} ${LAT_H}`}
          role="img"
          aria-label="Response time per hour"
          aria-describedby={`${ids}-latency`}
          onPointerMove={onMove}
          onPointerLeave={() => setHover(null)}
        >
          <Grid max={maxLat} y={latY} width={width} format={(v) => (v >= 1000 ? `${v / 1000}s` : `${v}ms`)} />
          {hover !== null && <rect className="hover-band" x={x(hover)} y={PAD.top} width={step} height={LAT_H - PAD.top - PAD.bottom} />}
          <Line buckets={buckets} pick={(b) => b.p95_ms} x={(i) => x(i) + step / 2} y={latY} className="line-p95" />
          <Line buckets={buckets} pick={(b) => b.p50_ms} x={(i) => x(i) + step / 2} y={latY} className="line-p50" />
          <XLabels buckets={buckets} x={x} step={step} y={LAT_H - 6} />
        </svg>
      </div>
      {hb && (
        <div className="chart-tip small" style={{ left: tipLeft }} aria-hidden="true">
          <strong>
            {formatHour(hb.start)} – {formatHour(new Date(new Date(hb.start).getTime() + 3600_000).toISOString())}
          </strong>
          <span>
            <span className="legend-swatch swatch-ok" /> {hb.succeeded} succeeded
          </span>
          <span>
            <span className="legend-swatch swatch-fail" /> {hb.failed} failed
          </span>
          <span>
            p50 {formatDuration(hb.p50_ms)} · p95 {formatDuration(hb.p95_ms)}
          </span>
        </div>
      )}
    </div>
  );
}

function describeBusiest(buckets: StatsBucket[]): string {
  let best = buckets[0];
  for (const b of buckets) if (b.succeeded + b.failed > best.succeeded + best.failed) best = b;
  return `${formatHour(best.start)} with ${best.succeeded + best.failed}`;
}

function Grid({ max, y, width, format, integer }: { max: number; y: (v: number) => number; width: number; format: (v: number) => string; integer?: boolean }) {
  // Counts have no half deliveries: the middle line only when it is a whole number.
  const ticks = integer && max % 2 !== 0 ? [0, max] : [0, max / 2, max];
  return (
    <g className="grid">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={width - PAD.right} y1={y(t)} y2={y(t)} />
          <text x={PAD.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
            {Number.isInteger(t) ? format(t) : format(Math.round(t * 10) / 10)}
          </text>
        </g>
      ))}
    </g>
  );
}

function XLabels({ buckets, x, step, y }: { buckets: StatsBucket[]; x: (i: number) => number; step: number; y: number }) {
  // Every 6 hours on wide charts, every 12 on narrow ones.
  const every = step * 6 < 56 ? 12 : 6;
  return (
    <g className="axis">
      {buckets.map((b, i) =>
        (buckets.length - 1 - i) % every === 0 ? (
          <text key={b.start} x={x(i) + step / 2} y={y} textAnchor="middle">
            {formatHour(b.start)}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Line({
  buckets,
  pick,
  x,
  y,
  className,
}: {
  buckets: StatsBucket[];
  pick: (b: StatsBucket) => number | null;
  x: (i: number) => number;
  y: (v: number) => number;
  className: string;
}) {
  // Hours without deliveries break the line rather than pretending latency was zero.
  let d = "";
  let pen = false;
  const dots: [number, number][] = [];
  buckets.forEach((b, i) => {
    const v = pick(b);
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    dots.push([x(i), y(v)]);
    pen = true;
  });
  return (
    <g className={className}>
      <path d={d} fill="none" />
      {dots.map(([cx, cy], i) => (
        <circle key={i} cx={cx} cy={cy} r={2.2} />
      ))}
    </g>
  );
}
