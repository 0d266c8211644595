/** @jsxImportSource hono/jsx */

/**
 * Charts drawn as SVG on the server: a time series is a polyline and a bar chart a row of rects,
 * about a hundred lines in all. A charting library would ship tens of kilobytes of client script (or
 * a DOM shim on the Worker) for these two shapes, and would need a build step or a CDN; the SVG
 * needs neither, renders without script, prints, and carries its own text alternative.
 */

export interface Series {
  name: string;
  /** A colour with at least 3:1 contrast on white. */
  color: string;
  /** Dash pattern, so series differ by more than colour. */
  dash?: string;
  points: { t: number; y: number }[];
}

const W = 720;
const H = 220;
const PAD = { left: 44, right: 24, top: 12, bottom: 28 };

/** The largest of a few round numbers at or above `max`, for the y axis. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

export function TimeChart(props: {
  id: string;
  title: string;
  from: number;
  to: number;
  series: Series[];
  unit: string;
  /** What the text alternative states: counts add up over the period; a level (a lag, a backlog) has a latest value. */
  summary?: "total" | "latest";
}) {
  const max = niceMax(Math.max(0, ...props.series.flatMap((s) => s.points.map((p) => p.y))));
  const x = (t: number) => PAD.left + ((t - props.from) / (props.to - props.from)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => props.from + f * (props.to - props.from));
  const latest = props.summary === "latest";
  const total = props.series
    .map((s) => `${s.name}: ${latest ? (s.points.at(-1)?.y ?? "none") : s.points.reduce((sum, p) => sum + p.y, 0)}`)
    .join(", ");
  return (
    <figure>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-labelledby={`${props.id}-t ${props.id}-d`}
        preserveAspectRatio="xMidYMid meet"
      >
        <title id={`${props.id}-t`}>{props.title}</title>
        <desc
          id={`${props.id}-d`}
        >{`${latest ? "Latest values" : "Totals over the period"}: ${total}. Scale up to ${max} ${props.unit}.`}</desc>
        <line x1={PAD.left} y1={y(0)} x2={W - PAD.right} y2={y(0)} stroke="#767676" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={y(0)} stroke="#767676" />
        {[0, max / 2, max].map((v) => (
          <text x={PAD.left - 6} y={y(v) + 4} text-anchor="end">
            {String(v)}
          </text>
        ))}
        {ticks.map((t, i) => (
          <text x={x(t)} y={H - 8} text-anchor={i === ticks.length - 1 ? "end" : i === 0 ? "start" : "middle"}>
            {hhmm(t)}
          </text>
        ))}
        {props.series.map((s) => (
          <polyline
            fill="none"
            stroke={s.color}
            stroke-width="2"
            stroke-dasharray={s.dash}
            points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ")}
          />
        ))}
        {latest
          ? props.series.map((s) => {
              // A level's latest reading as a dot: a lone sample draws no line.
              const last = s.points.at(-1);
              return last ? <circle cx={x(last.t).toFixed(1)} cy={y(last.y).toFixed(1)} r="4" fill={s.color} /> : null;
            })
          : null}
      </svg>
      <figcaption>
        {props.series.map((s) => (
          <span style="margin-right:16px">
            <svg width="28" height="10" aria-hidden="true">
              <line x1="0" y1="5" x2="28" y2="5" stroke={s.color} stroke-width="3" stroke-dasharray={s.dash} />
            </svg>{" "}
            {s.name}
          </span>
        ))}
        <span class="muted">(UTC, {props.unit})</span>
      </figcaption>
    </figure>
  );
}

export function BarChart(props: {
  id: string;
  title: string;
  bars: { label: string; value: number; limit?: number }[];
  unit: string;
}) {
  const rowH = 26;
  const height = Math.max(1, props.bars.length) * rowH + 8;
  const labelW = 190;
  const max = niceMax(Math.max(0, ...props.bars.map((b) => Math.max(b.value, b.limit ?? 0))));
  const w = (v: number) => (v / max) * (W - labelW - 80);
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${height}`} width="100%" role="img" aria-labelledby={`${props.id}-t ${props.id}-d`}>
        <title id={`${props.id}-t`}>{props.title}</title>
        <desc id={`${props.id}-d`}>{props.bars.map((b) => `${b.label}: ${b.value} ${props.unit}`).join("; ")}</desc>
        {props.bars.map((b, i) => (
          <g>
            <text x={labelW - 6} y={i * rowH + 18} text-anchor="end">
              {b.label}
            </text>
            <rect x={labelW} y={i * rowH + 5} width={Math.max(1, w(b.value)).toFixed(1)} height="16" fill="#2e6da4" />
            {b.limit !== undefined ? (
              <line
                x1={labelW + w(b.limit)}
                x2={labelW + w(b.limit)}
                y1={i * rowH + 2}
                y2={i * rowH + 24}
                stroke="#a00000"
                stroke-width="2"
              />
            ) : null}
            <text x={labelW + w(b.value) + 6} y={i * rowH + 18}>
              {`${b.value}${b.limit !== undefined ? ` / ${b.limit}` : ""} ${props.unit}`}
            </text>
          </g>
        ))}
      </svg>
      <figcaption class="muted">{props.title}</figcaption>
    </figure>
  );
}
