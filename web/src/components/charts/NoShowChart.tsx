// No-shows per day of the week, every scanner together, as plain SVG: the no-shows that
// happened (red bar) next to the number the model expected (amber outline: the sum of the
// risks of that day's appointments), with the no-show rate of the day's known outcomes under
// the bar. Days still to come show only the expectation.
import type { Totals } from '../../lib/scheduling';
import { dayLabel, noShowRate } from '../../lib/scheduling';

export interface NoShowChartProps {
  rows: { date: string; totals: Totals }[];
  width?: number;
  height?: number;
}

const FG = '#d9dee5';
const MUTED = '#8a94a3';
const GRID = '#2b323c';
const RED = '#e5484d';
const AMBER = '#f5a524';

export function NoShowChart({ rows, width = 560, height = 262 }: NoShowChartProps) {
  const m = { top: 34, right: 8, bottom: 48, left: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const max = Math.max(2, ...rows.map((r) => Math.max(r.totals.no_shows, Math.ceil(r.totals.expected_no_shows))));
  const step = max <= 5 ? 1 : max <= 12 ? 2 : 5;
  const top = Math.ceil(max / step) * step;
  const y = (v: number) => h - (v / top) * h;
  const slot = w / Math.max(1, rows.length);
  const barW = Math.min(20, slot * 0.3);
  const ticks: number[] = [];
  for (let t = 0; t <= top; t += step) ticks.push(t);
  const actual = rows.reduce((s, r) => s + r.totals.no_shows, 0);
  const expected = rows.reduce((s, r) => s + r.totals.expected_no_shows, 0);
  const label = `No-shows this week: ${actual} happened, ${expected.toFixed(1)} expected by the model`;
  return (
    <svg className="chart noshow-week" data-testid="noshow-chart" width={width} height={height}
         viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      <text x={m.left} y={16} fill={FG} fontSize={14} fontWeight={600}>No-shows per day</text>
      <g transform={`translate(${width - m.right - 200},6)`} fontSize={11}>
        <rect x={0} y={2} width={12} height={12} fill={RED} /><text x={16} y={12} fill={FG}>happened</text>
        <rect x={86} y={2} width={12} height={12} fill="none" stroke={AMBER} strokeWidth={2} strokeDasharray="3 2" />
        <text x={102} y={12} fill={FG}>expected (model)</text>
      </g>
      <g transform={`translate(${m.left},${m.top})`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={0} x2={w} y1={y(t)} y2={y(t)} stroke={GRID} strokeDasharray={t ? '2 3' : undefined} />
            <text x={-6} y={y(t) + 4} fill={MUTED} fontSize={11} textAnchor="end">{t}</text>
          </g>
        ))}
        <text transform={`translate(${-28},${h / 2}) rotate(-90)`} fill={MUTED} fontSize={11} textAnchor="middle">appointments</text>
        {rows.map((r, i) => {
          const cx = i * slot + slot / 2;
          const t = r.totals;
          const known = t.performed + t.no_shows;
          return (
            <g key={r.date} data-testid="noshow-day" data-date={r.date}>
              <title>{`${dayLabel(r.date)}: ${t.no_shows} no-shows of ${known} known outcomes (${noShowRate(t)}); expected ${t.expected_no_shows.toFixed(1)} of ${t.scored} scored`}</title>
              {t.no_shows > 0 && <rect x={cx - barW - 1} y={y(t.no_shows)} width={barW} height={h - y(t.no_shows)} fill={RED} />}
              {t.no_shows > 0 && <text x={cx - barW / 2 - 1} y={y(t.no_shows) - 4} fill={FG} fontSize={11} textAnchor="middle">{t.no_shows}</text>}
              {t.expected_no_shows > 0 && (
                <rect x={cx + 1} y={y(t.expected_no_shows)} width={barW} height={h - y(t.expected_no_shows)} fill="none"
                      stroke={AMBER} strokeWidth={2} strokeDasharray="3 2" />
              )}
              {t.expected_no_shows > 0 && (
                <text x={cx + barW / 2 + 1} y={y(t.expected_no_shows) - 4} fill={AMBER} fontSize={10} textAnchor="middle">
                  {t.expected_no_shows.toFixed(1)}
                </text>
              )}
              <text x={cx} y={h + 14} fill={FG} fontSize={11} textAnchor="middle">{dayLabel(r.date).slice(0, 3)}</text>
              <text x={cx} y={h + 27} fill={MUTED} fontSize={10} textAnchor="middle">{dayLabel(r.date).slice(4)}</text>
              <text x={cx} y={h + 41} fill={known ? (t.no_shows ? RED : MUTED) : MUTED} fontSize={10} textAnchor="middle">
                {known ? noShowRate(t) : '—'}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}
