// One scanner's week as plain SVG (no chart library): a stacked bar per day of its opening
// hours — performed, lost to no-shows, still booked, free — with the y axis in hours, the
// day under each bar, "performed / booked" over it and the no-shows in red. The same numbers
// are in the page's table; the bar's <title> gives them to a tooltip and a screen reader.
import type { StationDay } from '../../api/scheduling';
import { dayLabel, hours, splitDay } from '../../lib/scheduling';

export const SPLIT_COLORS = {
  performed: '#3fb950',
  lost: '#e5484d',
  booked: '#4fa3ff',
  free: '#2b323c',
} as const;
export const SPLIT_LABELS = {
  performed: 'performed', lost: 'lost to no-shows', booked: 'booked, not yet performed', free: 'free (not booked)',
} as const;

export interface StationWeekChartProps {
  station: string;
  name?: string;
  /** the opening hours as text: "08:00–20:00 Mon–Fri" */
  hours?: string;
  days: StationDay[];
  /** the y axis' top in minutes (the same for every station of the page, so bars compare) */
  maxMinutes: number;
  width?: number;
  height?: number;
}

const FG = '#d9dee5';
const MUTED = '#8a94a3';
const GRID = '#2b323c';

function niceStep(maxHours: number): number {
  if (maxHours <= 4) return 1;
  if (maxHours <= 10) return 2;
  if (maxHours <= 24) return 4;
  return 6;
}

export function StationWeekChart({ station, name, hours: openHours, days, maxMinutes, width = 560, height = 262 }: StationWeekChartProps) {
  const m = { top: 68, right: 8, bottom: 36, left: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const maxH = Math.max(1, Math.ceil(maxMinutes / 60));
  const step = niceStep(maxH);
  const top = Math.ceil(maxH / step) * step;
  const y = (minutes: number) => h - (minutes / 60 / top) * h;
  const slot = w / Math.max(1, days.length);
  const barW = Math.min(44, slot * 0.62);
  const ticks: number[] = [];
  for (let t = 0; t <= top; t += step) ticks.push(t);
  const performed = days.reduce((s, d) => s + d.performed, 0);
  const booked = days.reduce((s, d) => s + d.booked, 0);
  const noShows = days.reduce((s, d) => s + d.no_shows, 0);
  const label = `${station}${name ? ` (${name})` : ''}: ${performed} of ${booked} booked exams performed, ${noShows} no-shows this week`;
  return (
    <svg className="chart station-week" data-testid="station-chart" data-station={station} width={width} height={height}
         viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      <text x={m.left} y={16} fill={FG} fontSize={14} fontWeight={600}>{station}</text>
      {name && <text x={m.left + 10 + station.length * 11} y={16} fill={MUTED} fontSize={12}>{name}</text>}
      {openHours && <text x={m.left} y={33} fill={MUTED} fontSize={11} data-testid="station-hours">open {openHours}</text>}
      <text x={width - m.right} y={16} fill={MUTED} fontSize={12} textAnchor="end">
        {performed}/{booked} performed · <tspan fill={noShows ? SPLIT_COLORS.lost : MUTED}>{noShows} no-show{noShows === 1 ? '' : 's'}</tspan>
      </text>
      <g transform={`translate(${m.left},${m.top})`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={0} x2={w} y1={y(t * 60)} y2={y(t * 60)} stroke={GRID} strokeDasharray={t ? '2 3' : undefined} />
            <text x={-6} y={y(t * 60) + 4} fill={MUTED} fontSize={11} textAnchor="end">{t}</text>
          </g>
        ))}
        <text transform={`translate(${-30},${h / 2}) rotate(-90)`} fill={MUTED} fontSize={11} textAnchor="middle">hours</text>
        {days.map((d, i) => {
          const s = splitDay(d);
          const x = i * slot + (slot - barW) / 2;
          let base = 0;
          const parts = (['performed', 'lost', 'booked', 'free'] as const).map((k) => {
            const y0 = y(base + s[k]);
            const rect = s[k] > 0 ? (
              <rect key={k} x={x} y={y0} width={barW} height={y(base) - y0} fill={SPLIT_COLORS[k]}
                    stroke={k === 'free' ? '#3b4450' : 'none'} data-part={k} />
            ) : null;
            base += s[k];
            return rect;
          });
          const tip = `${dayLabel(d.date)}: open ${hours(d.open_minutes)}; ${d.booked} booked, ${d.performed} performed, `
            + `${d.no_shows} no-show${d.no_shows === 1 ? '' : 's'}, ${d.pending} to come; performed ${hours(d.performed_minutes)}, `
            + `${d.elapsed_minutes ? `idle so far ${hours(d.idle_minutes)}, ` : ''}not booked ${hours(d.unbooked_minutes)}`;
          return (
            <g key={d.date} data-testid="day-bar" data-date={d.date}>
              <title>{tip}</title>
              {parts}
              {d.open_minutes === 0 && <text x={x + barW / 2} y={h - 4} fill={MUTED} fontSize={10} textAnchor="middle">closed</text>}
              {d.booked > 0 && (
                <text x={x + barW / 2} y={y(d.open_minutes) - 4} fill={FG} fontSize={11} textAnchor="middle">
                  {d.performed}/{d.booked}
                </text>
              )}
              {d.no_shows > 0 && (
                <text x={x + barW / 2} y={y(d.open_minutes) - 16} fill={SPLIT_COLORS.lost} fontSize={11} fontWeight={700} textAnchor="middle">
                  ✕{d.no_shows}
                </text>
              )}
              <text x={i * slot + slot / 2} y={h + 14} fill={FG} fontSize={11} textAnchor="middle">{dayLabel(d.date).slice(0, 3)}</text>
              <text x={i * slot + slot / 2} y={h + 27} fill={MUTED} fontSize={10} textAnchor="middle">{dayLabel(d.date).slice(4)}</text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}

/** The legend of the stacked bars (once per page). */
export function SplitLegend() {
  return (
    <div className="chart-legend" data-testid="legend">
      {(['performed', 'lost', 'booked', 'free'] as const).map((k) => (
        <span key={k}><svg width={12} height={12} aria-hidden="true"><rect width={12} height={12} fill={SPLIT_COLORS[k]} stroke="#3b4450" /></svg> {SPLIT_LABELS[k]}</span>
      ))}
      <span className="muted">“9/12”: performed of booked · ✕ no-shows</span>
    </div>
  );
}
