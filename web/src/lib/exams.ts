// Pure helpers of the technologist's Exams page (pages/ExamsPage): the day's time range, the
// order the exams are listed in, the stations, the no-show risk levels, and what the page's
// URL says (?day=YYYY-MM-DD&station=AE&cancelled=1).
import { PRIORITY_RANK, type Order } from '../api/orders';

const pad = (n: number) => String(n).padStart(2, '0');

/** Local calendar day "YYYY-MM-DD" of a time (ms). */
export function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** [start, end) in ms of a local day "YYYY-MM-DD"; null when it is not one. */
export function dayRange(day: string): [number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(start.getTime()) || dayOf(start.getTime()) !== day) return null;
  const end = new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1);
  return [start.getTime(), end.getTime()];
}

/** The local day `delta` days from `day` (daylight-saving safe). */
export function shiftDay(day: string, delta: number): string {
  const r = dayRange(day);
  if (!r) return day;
  const d = new Date(r[0]);
  return dayOf(new Date(d.getFullYear(), d.getMonth(), d.getDate() + delta).getTime());
}

/** "HH:MM" local of a time in ms, "" for 0. */
export function clock(ms: number): string {
  if (!ms) return '';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The statuses after which nothing is left to do for the technologist. */
export const DONE = new Set(['completed', 'discontinued', 'cancelled', 'no_show']);

export function isStat(o: Pick<Order, 'priority'>): boolean {
  return (o.priority || '').toUpperCase() === 'STAT';
}

/**
 * The order of a station's list: the exams still to do first — STAT ones on top (then HIGH),
 * each group by scheduled time — then the finished ones by time.
 */
export function compareExams(a: Order, b: Order): number {
  const doneA = DONE.has(a.status) ? 1 : 0;
  const doneB = DONE.has(b.status) ? 1 : 0;
  if (doneA !== doneB) return doneA - doneB;
  if (!doneA) {
    const urgent = (o: Order) => Math.min(PRIORITY_RANK[(o.priority || '').toUpperCase()] ?? 2, 2);
    const d = urgent(a) - urgent(b);
    if (d) return d;
  }
  return (a.scheduled_at - b.scheduled_at) || (a.id - b.id);
}

export interface StationGroup { station: string; name: string; items: Order[] }

export const NO_STATION = '';

/** The exams per scheduled station (ScheduledStationAETitle), stations by AE title, "no station" last. */
export function groupByStation(items: Order[]): StationGroup[] {
  const groups = new Map<string, StationGroup>();
  for (const o of items) {
    const key = o.station_ae || NO_STATION;
    let g = groups.get(key);
    if (!g) { g = { station: key, name: '', items: [] }; groups.set(key, g); }
    if (!g.name && o.station_name) g.name = o.station_name;
    g.items.push(o);
  }
  const list = [...groups.values()];
  for (const g of list) g.items.sort(compareExams);
  return list.sort((a, b) => (a.station === NO_STATION ? 1 : 0) - (b.station === NO_STATION ? 1 : 0) || a.station.localeCompare(b.station));
}

export interface StationCounts { total: number; toCome: number; arrived: number; inProgress: number; done: number; noShow: number }

export function countExams(items: Order[]): StationCounts {
  const c: StationCounts = { total: 0, toCome: 0, arrived: 0, inProgress: 0, done: 0, noShow: 0 };
  for (const o of items) {
    if (o.status === 'cancelled') continue;
    c.total += 1;
    if (o.status === 'scheduled') c.toCome += 1;
    else if (o.status === 'arrived') c.arrived += 1;
    else if (o.status === 'in_progress') c.inProgress += 1;
    else if (o.status === 'no_show') c.noShow += 1;
    else c.done += 1;
  }
  return c;
}

export type RiskLevel = 'none' | 'low' | 'moderate' | 'high';

// The no-show model's base rate on its data is about 20 % (docs/noshow.md): "high" is well
// above it, "moderate" around it.
export const RISK_HIGH = 0.35;
export const RISK_MODERATE = 0.2;

export function riskLevel(risk: number | null | undefined): RiskLevel {
  if (risk === null || risk === undefined || !Number.isFinite(risk) || risk < 0) return 'none';
  if (risk >= RISK_HIGH) return 'high';
  if (risk >= RISK_MODERATE) return 'moderate';
  return 'low';
}

/** A scheduled exam whose start is more than `graceMin` minutes ago and nobody came. */
export function isLate(o: Pick<Order, 'status' | 'scheduled_at'>, now: number, graceMin = 15): boolean {
  return o.status === 'scheduled' && o.scheduled_at > 0 && now - o.scheduled_at > graceMin * 60_000;
}

export interface ExamsView { day: string; station: string; cancelled: boolean }

export function searchToExamsView(search: string, today: string): ExamsView {
  const p = new URLSearchParams(search);
  const day = p.get('day') ?? '';
  return { day: dayRange(day) ? day : today, station: p.get('station') ?? '', cancelled: p.get('cancelled') === '1' };
}

export function examsViewToSearch(v: ExamsView, today: string): string {
  const p = new URLSearchParams();
  if (v.day && v.day !== today) p.set('day', v.day);
  if (v.station) p.set('station', v.station);
  if (v.cancelled) p.set('cancelled', '1');
  const s = p.toString();
  return s ? `?${s}` : '';
}
