// Pure shaping of the scheduling page (docs/scheduling.md): the week shown (Monday to Sunday,
// local), the page's URL state, the totals of a set of station-days and the split of a day's
// opening hours into performed / lost to no-shows / still booked / free.
import type { StationDay } from '../api/scheduling';

/** Local midnight of the Monday of the week of `ms`. */
export function weekStart(ms: number): number {
  const d = new Date(ms);
  const back = (d.getDay() + 6) % 7;  // Monday = 0
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - back).getTime();
}

/** Local midnight `days` days after the local midnight `start` (DST-safe). */
export function addDays(start: number, days: number): number {
  const d = new Date(start);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
}

/** "2026-12-07" of a local time. */
export function isoDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Local midnight of "YYYY-MM-DD", or null. */
export function parseIsoDay(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (d.getMonth() !== Number(m[2]) - 1) return null;
  return d.getTime();
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mon 7 Dec" of YYYYMMDD. */
export function dayLabel(date: string): string {
  if (!/^\d{8}$/.test(date)) return date;
  const d = new Date(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8)));
  return `${WEEKDAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]}`;
}

/** "7 – 13 Dec 2026" for the week starting at `start`. */
export function weekLabel(start: number): string {
  const a = new Date(start);
  const b = new Date(addDays(start, 6));
  const left = a.getMonth() === b.getMonth() ? `${a.getDate()}` : `${a.getDate()} ${MONTHS[a.getMonth()]}`;
  return `${left} – ${b.getDate()} ${MONTHS[b.getMonth()]} ${b.getFullYear()}`;
}

/** Minutes as hours: "7.5 h", "0 h". */
export function hours(minutes: number): string {
  const h = Math.round(minutes / 6) / 10;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} h`;
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)} %` : '—';
}

export interface SchedulingView { week: number; station: string; threshold: number }

export const DEFAULT_THRESHOLD = 0.5;  // the server's default (docs/scheduling.md)

export function searchToView(search: string, now: number): SchedulingView {
  const p = new URLSearchParams(search);
  const day = parseIsoDay(p.get('week') ?? '');
  const t = Number(p.get('threshold'));
  return {
    // an explicit ?week=YYYY-MM-DD is the first of the 7 days shown; by default this week's Monday
    week: day ?? weekStart(now),
    station: p.get('station') ?? '',
    threshold: p.has('threshold') && Number.isFinite(t) && t >= 0 && t <= 1 ? t : DEFAULT_THRESHOLD,
  };
}

export function viewToSearch(v: SchedulingView, now: number): string {
  const p = new URLSearchParams();
  if (v.week !== weekStart(now)) p.set('week', isoDay(v.week));
  if (v.station) p.set('station', v.station);
  if (v.threshold !== DEFAULT_THRESHOLD) p.set('threshold', String(v.threshold));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface Totals {
  booked: number; performed: number; no_shows: number; cancelled: number; pending: number;
  open_minutes: number; booked_minutes: number; performed_minutes: number; idle_minutes: number; elapsed_minutes: number;
  no_show_minutes: number; unbooked_minutes: number; expected_no_shows: number; scored: number;
}

export function totals(days: StationDay[]): Totals {
  const t: Totals = {
    booked: 0, performed: 0, no_shows: 0, cancelled: 0, pending: 0, open_minutes: 0, booked_minutes: 0,
    performed_minutes: 0, idle_minutes: 0, elapsed_minutes: 0, no_show_minutes: 0, unbooked_minutes: 0, expected_no_shows: 0, scored: 0,
  };
  for (const d of days) {
    for (const k of Object.keys(t) as (keyof Totals)[]) t[k] += Number(d[k] ?? 0);
  }
  return t;
}

/** The no-show rate of the appointments whose outcome is known (performed or missed). */
export function noShowRate(t: Pick<Totals, 'performed' | 'no_shows'>): string {
  return percent(t.no_shows, t.performed + t.no_shows);
}

/**
 * A day's opening hours split for the stacked bar: performed, lost to no-shows, still booked
 * (not yet performed), free (nobody booked). The parts add up to the open minutes.
 */
export interface DaySplit { performed: number; lost: number; booked: number; free: number }
export function splitDay(d: StationDay): DaySplit {
  const open = Math.max(0, d.open_minutes);
  const performed = Math.min(open, d.performed_minutes);
  const lost = Math.min(open - performed, d.no_show_minutes);
  const booked = Math.min(open - performed - lost, Math.max(0, d.booked_minutes - d.performed_minutes - d.no_show_minutes));
  return { performed, lost, booked, free: open - performed - lost - booked };
}

/** The station-days grouped by station (in the server's order), dates ascending. */
export function byStation(days: StationDay[]): { station: string; days: StationDay[] }[] {
  const out: { station: string; days: StationDay[] }[] = [];
  for (const d of days) {
    let g = out.find((x) => x.station === d.station_ae);
    if (!g) { g = { station: d.station_ae, days: [] }; out.push(g); }
    g.days.push(d);
  }
  for (const g of out) g.days.sort((a, b) => a.date.localeCompare(b.date));
  return out;
}

/** Per date, the figures of every station added up (dates ascending). */
export function byDate(days: StationDay[]): { date: string; totals: Totals }[] {
  const dates = [...new Set(days.map((d) => d.date))].sort();
  return dates.map((date) => ({ date, totals: totals(days.filter((d) => d.date === date)) }));
}

const WEEK = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** "Mon,Tue,Wed,Thu,Fri" → "Mon–Fri"; every day → "daily"; gaps: "Mon, Wed, Fri". */
export function daysLabel(days: string | undefined): string {
  const set = new Set((days ?? WEEK.join(',')).split(',').filter(Boolean));
  const idx = WEEK.map((d, i) => (set.has(d) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 7) return 'daily';
  if (!idx.length) return 'closed';
  const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  if (contiguous && idx.length > 2) return `${WEEK[idx[0]]}–${WEEK[idx[idx.length - 1]]}`;
  return idx.map((i) => WEEK[i]).join(', ');
}

