// A weekly chart (recharts, SVG): ISO weeks along x (week number over the Monday's date),
// one line (rates, %) or one bar group (counts) per app version, with axis titles that name
// the unit, a legend and a tooltip; the numbers are also in a table under the plot.
import { useEffect, useRef, useState } from 'react';
import {
  Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis,
} from 'recharts';
import { shortDate, weekAxisTitle, weekShort, weekTitle, type ChartSeries, type WeekRow } from './series';

export interface WeeklyChartProps {
  id: string;                 // data-testid of the figure
  title: string;
  kind: 'line' | 'bar';
  rows: WeekRow[];
  series: ChartSeries[];
  yTitle: string;             // with the unit: "Agreement (%)", "AI results (count per week)"
  unit: '%' | '';
  /** what the tooltip's "n" counts: "decided", "findings" */
  nLabel: string;
  /** shown instead of the plot when no week has a value */
  emptyText?: string;
  height?: number;
}

const AXIS = '#8a94a3';
const GRID = '#2b323c';
const FG = '#d9dee5';

/** The width of the element, followed as it changes (jsdom and first paint: the fallback). */
function useWidth(fallback: number): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => { const w = el.clientWidth; if (w > 100) setWidth(w); };
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function formatValue(v: number | string | null | undefined, unit: '%' | ''): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return unit === '%' ? `${n.toFixed(1)} %` : String(Math.round(n));
}

/** Two-line x tick: "W49" over "30 Nov". */
function WeekTick(props: { x?: number | string; y?: number | string; payload?: { value: string }; rows: WeekRow[] }) {
  const { x = 0, y = 0, payload, rows } = props;
  const week = payload?.value ?? '';
  const start = rows.find((r) => r.week === week)?.start ?? '';
  return (
    <g transform={`translate(${x},${y})`}>
      <text dy={12} textAnchor="middle" fill={FG} fontSize={12}>{weekShort(week)}</text>
      <text dy={26} textAnchor="middle" fill={AXIS} fontSize={11}>{shortDate(String(start))}</text>
    </g>
  );
}

function ChartTooltip({ active, payload, label, rows, series, unit, nLabel }:
  { active?: boolean; payload?: readonly unknown[]; label?: string | number } & { rows: WeekRow[]; series: ChartSeries[]; unit: '%' | ''; nLabel: string }) {
  if (!active || label === undefined || label === null || (!payload?.length && !rows.length)) return null;
  const row = rows.find((r) => r.week === label);
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-title">{weekTitle(String(label), String(row?.start ?? ''))}</div>
      {series.map((s) => {
        const v = row?.[s.key];
        const n = row?.[`n:${s.key}`];
        return (
          <div key={s.key} className="chart-tooltip-line">
            <span className="chart-swatch" style={{ background: s.color }} />
            {s.label}: <b>{formatValue(v, unit)}</b>
            {n !== undefined && <span className="muted"> ({n} {nLabel})</span>}
          </div>
        );
      })}
    </div>
  );
}

export function WeeklyChart({
  id, title, kind, rows, series, yTitle, unit, nLabel, emptyText = 'Nothing to plot in these weeks.', height = 320,
}: WeeklyChartProps) {
  const [ref, width] = useWidth(860);
  const margin = { top: 8, right: 24, bottom: 8, left: 16 };
  const xAxis = (
    <XAxis dataKey="week" interval={0} height={58} stroke={AXIS}
           tick={(p: object) => <WeekTick {...(p as object)} rows={rows} />}
           label={{ value: weekAxisTitle(rows), position: 'insideBottom', offset: 0, fill: AXIS, fontSize: 12 }} />
  );
  const yAxis = (
    <YAxis stroke={AXIS} tick={{ fill: FG, fontSize: 12 }} width={64}
           domain={unit === '%' ? [0, 100] : [0, 'auto']}
           ticks={unit === '%' ? [0, 20, 40, 60, 80, 100] : undefined}
           allowDecimals={false}
           tickFormatter={(v: number) => (unit === '%' ? `${v} %` : String(v))}
           label={{ value: yTitle, angle: -90, position: 'insideLeft', offset: 4, dy: 60, fill: AXIS, fontSize: 12 }} />
  );
  const common = [
    <CartesianGrid key="grid" stroke={GRID} strokeDasharray="3 3" />,
  ];
  const tooltip = (
    <Tooltip cursor={{ stroke: AXIS, fill: 'rgba(138,148,163,0.12)' }}
             content={(p) => <ChartTooltip {...p} rows={rows} series={series} unit={unit} nLabel={nLabel} />} />
  );
  const hasValues = rows.some((r) => series.some((x) => {
    const v = r[x.key];
    return v !== null && v !== undefined && (unit === '%' || Number(v) > 0);
  }));
  const legend = <Legend verticalAlign="top" height={28} wrapperStyle={{ color: FG, fontSize: 12 }} />;
  return (
    <figure className="chart" data-testid={id} aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div ref={ref} className="chart-body">
        {!hasValues
          ? <p className="muted chart-empty" data-testid={`${id}-empty`}>{emptyText}</p>
          : kind === 'line'
            ? (
              <LineChart width={width} height={height} data={rows} margin={margin}>
                {common}{xAxis}{yAxis}{tooltip}{legend}
                {series.map((s) => (
                  <Line key={s.key} type="linear" dataKey={s.key} name={s.label} stroke={s.color} strokeWidth={2} legendType="plainline"
                        strokeDasharray={s.dashed ? '6 4' : undefined} dot={{ r: 3, fill: s.color }}
                        connectNulls={false} isAnimationActive={false} />
                ))}
              </LineChart>
            )
            : (
              <BarChart width={width} height={height} data={rows} margin={margin}>
                {common}{xAxis}{yAxis}{tooltip}{legend}
                {series.map((s) => (
                  <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} fillOpacity={0.9}
                       isAnimationActive={false} />
                ))}
              </BarChart>
            )}
      </div>
      {hasValues && (
        <details className="chart-data">
          <summary>Weekly values</summary>
          <table className="grid">
            <thead>
              <tr><th>Week</th><th>Monday</th>{series.map((s) => <th key={s.key} className="num">{s.label}</th>)}</tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.week}>
                  <td>{r.week}</td><td>{r.start}</td>
                  {series.map((s) => <td key={s.key} className="num">{formatValue(r[s.key], unit)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
