// Pure data shaping for the weekly charts of the AI performance page: one row per ISO week
// (the union of the weeks of every app version shown), one column per app version.
import type { AppPerformance, PerformanceWeek } from '../../api/admin';

export type WeeklyMetric = 'agreement' | 'acceptance' | 'results';

export interface ChartSeries { key: string; label: string; color: string; dashed: boolean }

/** One week of the chart: `week`, `start`, then per series key a value (or null: no data). */
export type WeekRow = { week: string; start: string } & Record<string, string | number | null>;

/**
 * Colours readable on the dark background (contrast ≥ 4.5:1 against #171b21), one per app
 * version; older versions of an app are also drawn dashed, so that a line is told apart
 * without relying on colour alone.
 */
export const PALETTE = ['#4fa3ff', '#f5a524', '#3fb950', '#ff6b8b', '#b48cff', '#36c5c5', '#e8d44d', '#ff8f5a'];

export function seriesKey(a: Pick<AppPerformance, 'app_id' | 'app_version'>): string {
  return `${a.app_id}@${a.app_version}`;
}

/** "lung-nodules 1.2.0" */
export function seriesLabel(a: Pick<AppPerformance, 'app_id' | 'app_version'>): string {
  return a.app_version ? `${a.app_id} ${a.app_version}` : a.app_id;
}

/** Compares dotted versions numerically ("1.10" > "1.9"); other text by code point. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+]/);
  const pb = b.split(/[.\-+]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) { if (nx !== ny) return nx - ny; continue; }
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The series of the app versions, one colour each; the newest version of an app drawn solid. */
export function chartSeries(apps: AppPerformance[]): ChartSeries[] {
  const newest = new Map<string, string>();
  for (const a of apps) {
    const cur = newest.get(a.app_id);
    if (cur === undefined || compareVersions(a.app_version, cur) > 0) newest.set(a.app_id, a.app_version);
  }
  return apps.map((a, i) => ({
    key: seriesKey(a),
    label: seriesLabel(a),
    color: PALETTE[i % PALETTE.length],
    dashed: newest.get(a.app_id) !== a.app_version,
  }));
}

/** A rate in [0, 1] as a percentage rounded to 0.1; null stays null. */
export function toPercent(rate: number | null | undefined): number | null {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return null;
  return Math.round(rate * 1000) / 10;
}

/** "87.5 %" or "—" when nothing was decided. */
export function formatRate(rate: number | null | undefined): string {
  const p = toPercent(rate);
  return p === null ? '—' : `${p.toFixed(1)} %`;
}

/** Decisions of a week (its `decided`, else accepted + edited + rejected). */
export function weekDecided(w: PerformanceWeek): number {
  if (typeof w.decided === 'number') return w.decided;
  return (w.accepted ?? 0) + (w.edited ?? 0) + (w.rejected ?? 0);
}

/** The denominator of a week's value: signed-report decisions for agreement, decisions, findings. */
export function weekCount(w: PerformanceWeek, metric: WeeklyMetric): number {
  if (metric === 'results') return w.findings ?? 0;
  if (metric === 'agreement' && typeof w.signed_decided === 'number') return w.signed_decided;
  return weekDecided(w);
}

/** The value of one week for a metric: % for the rates (null when nothing decided), a count for results. */
export function weekValue(w: PerformanceWeek, metric: WeeklyMetric): number | null {
  if (metric === 'results') return w.results ?? 0;
  if (metric === 'agreement') return toPercent(w.agreement);
  const decided = weekDecided(w);
  return decided > 0 ? toPercent(w.accepted / decided) : null;
}

/**
 * Rows for a chart, weeks in order. A week where an app version has no entry is null for a
 * rate (a gap in the line) and 0 for the results count. `n:<key>` holds the week's
 * denominator (decisions) for the tooltip.
 */
export function weeklyRows(apps: AppPerformance[], metric: WeeklyMetric): WeekRow[] {
  const weeks = new Map<string, string>();
  for (const a of apps) for (const w of a.weeks ?? []) if (!weeks.has(w.week) || !weeks.get(w.week)) weeks.set(w.week, w.start ?? '');
  const order = [...weeks.keys()].sort();
  return order.map((week) => {
    const row: WeekRow = { week, start: weeks.get(week) ?? '' };
    for (const a of apps) {
      const key = seriesKey(a);
      const w = (a.weeks ?? []).find((x) => x.week === week);
      row[key] = w ? weekValue(w, metric) : metric === 'results' ? 0 : null;
      row[`n:${key}`] = w ? weekCount(w, metric) : 0;
    }
    return row;
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-11-30" → "30 Nov"; "" stays "". */
export function shortDate(ymd: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return ymd || '';
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1] ?? m[2]}`;
}

/** "2026-W49" → "W49". */
export function weekShort(week: string): string {
  const m = /-?(W\d{1,2})$/.exec(week || '');
  return m ? m[1] : week;
}

/** "2026-W49 (week of 30 Nov 2026)" */
export function weekTitle(week: string, start: string): string {
  const m = /^(\d{4})-/.exec(start || '');
  return start ? `${week} (week of ${shortDate(start)}${m ? ` ${m[1]}` : ''})` : week;
}

/** The x axis title, naming the year(s) of the weeks shown. */
export function weekAxisTitle(rows: Pick<WeekRow, 'week' | 'start'>[]): string {
  const years = [...new Set(rows.map((r) => /^(\d{4})/.exec(String(r.start || r.week))?.[1]).filter(Boolean))].sort();
  const span = years.length === 0 ? '' : years.length === 1 ? ` ${years[0]}` : ` ${years[0]}–${years[years.length - 1]}`;
  return `ISO week${span} (week number, and its Monday)`;
}
