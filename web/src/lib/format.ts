// Pure formatting of what the worklist shows: durations, DICOM dates and names, ages.
import type { WorklistItem } from '../types';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration as a reader wants to see it: "<1 min", "12 min", "2 h 05", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < MINUTE) return '<1 min';
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) {
    const h = Math.floor(ms / HOUR);
    const m = Math.floor((ms % HOUR) / MINUTE);
    return `${h} h ${String(m).padStart(2, '0')}`;
  }
  const d = Math.floor(ms / DAY);
  const h = Math.floor((ms % DAY) / HOUR);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** Turnaround time: empty ("—") until the item is reported (tat_ms 0). */
export function formatTat(tatMs: number): string {
  return tatMs > 0 ? formatDuration(tatMs) : '—';
}

/**
 * How long the item has waited, now: frozen at the first claim (read_started_at), else
 * running from arrived_at. `serverOffsetMs` is the server's clock minus this browser's,
 * from the list's `now`, so that a skewed client clock does not skew the waiting time.
 */
export function waitingMs(item: Pick<WorklistItem, 'arrived_at' | 'read_started_at' | 'waiting_ms'>,
                          clientNowMs: number, serverOffsetMs = 0): number {
  if (!item.arrived_at) return item.waiting_ms ?? 0;
  const end = item.read_started_at > 0 ? item.read_started_at : clientNowMs + serverOffsetMs;
  return Math.max(0, end - item.arrived_at);
}

/** CSS class of a waiting time: nothing, then "wait-warn" after 30 min, "wait-long" after 2 h. */
export function waitingClass(ms: number): string {
  if (ms >= 2 * HOUR) return 'wait-long';
  if (ms >= 30 * MINUTE) return 'wait-warn';
  return '';
}

/** DICOM DA "20240131" → "2024-01-31"; anything else as given. */
export function formatDicomDate(da: string | undefined | null): string {
  if (!da) return '';
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da;
}

/** DICOM TM "142305.123" → "14:23". */
export function formatDicomTime(tm: string | undefined | null): string {
  if (!tm) return '';
  const m = /^(\d{2})(\d{2})/.exec(tm.trim());
  return m ? `${m[1]}:${m[2]}` : tm;
}

/** DICOM PN "Doe^John^^Dr" → "Doe, John Dr"; alphabetic group only. */
export function formatPatientName(pn: string | undefined | null): string {
  if (!pn) return '';
  const alphabetic = pn.split('=')[0];
  const [family = '', ...rest] = alphabetic.split('^');
  const given = rest.filter(Boolean).join(' ');
  return given ? `${family.trim()}, ${given.trim()}` : family.trim();
}

function parseDa(da: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec((da || '').trim());
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/**
 * Age at the study (or at `today` when the study has no date), DICOM style:
 * "45Y", "18M" under two years, "12D" under a month; "" without a birth date.
 */
export function formatAge(birthDate: string, studyDate: string, today: Date = new Date()): string {
  const birth = parseDa(birthDate);
  if (!birth) return '';
  const at = parseDa(studyDate) ??
    new Date(Date.UTC(today.getFullYear(), today.getMonth(), today.getDate()));
  if (at < birth) return '';
  let months = (at.getUTCFullYear() - birth.getUTCFullYear()) * 12 +
    (at.getUTCMonth() - birth.getUTCMonth());
  if (at.getUTCDate() < birth.getUTCDate()) months -= 1;
  if (months >= 24) return `${Math.floor(months / 12)}Y`;
  if (months >= 1) return `${months}M`;
  return `${Math.round((at.getTime() - birth.getTime()) / DAY)}D`;
}

/** "45Y F", "45Y", "F", "". */
export function formatAgeSex(birthDate: string, sex: string, studyDate: string, today?: Date): string {
  return [formatAge(birthDate, studyDate, today), (sex || '').trim()].filter(Boolean).join(' ');
}

/** A unix-ms time: "14:23" today, else "2024-01-31 14:23". */
export function formatTimestamp(ms: number, now: Date = new Date()): string {
  if (!ms) return '';
  const d = new Date(ms);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate();
  if (sameDay) return hm;
  const ymd = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `${ymd} ${hm}`;
}

/** priority_reasons as lines, whether the server sent a list or one string. */
export function reasonLines(reasons: string[] | string | undefined | null): string[] {
  if (!reasons) return [];
  const list = Array.isArray(reasons) ? reasons : reasons.split('\n');
  return list.map((r) => String(r).trim()).filter(Boolean);
}

/** ModalitiesInStudy "CT\SEG\SR" → "CT SEG SR". */
export function formatModalities(m: string | undefined | null): string {
  return (m || '').split('\\').filter(Boolean).join(' ');
}

/** 12.345 → "12.3"; 0 or missing → "" (a finding without that measure). */
export function formatMeasure(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v) || v === 0) return '';
  return v.toFixed(digits);
}

/** +12.3 % / −4.0 %; "" when unknown. */
export function formatPercentChange(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '±';
  return `${sign}${Math.abs(v).toFixed(1)} %`;
}

/** AI pending as a count, whether the server sends a number or a boolean. */
export function aiPendingCount(p: number | boolean | undefined | null): number {
  if (typeof p === 'boolean') return p ? 1 : 0;
  return typeof p === 'number' && p > 0 ? p : 0;
}

export const STATE_LABELS: Record<string, string> = {
  unread: 'unread',
  in_progress: 'in progress',
  preliminary: 'preliminary',
  final: 'final',
  cancelled: 'cancelled',
};
