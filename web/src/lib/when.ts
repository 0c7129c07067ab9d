// Times of the security REST: ISO 8601 text, epoch milliseconds or epoch seconds (all seen);
// shown as local "YYYY-MM-DD HH:MM", or "—".

export function toDate(v: string | number | null | undefined): Date | null {
  if (v === null || v === undefined || v === '' || v === 0) return null;
  if (typeof v === 'number') return new Date(v < 1e11 ? v * 1000 : v);
  if (/^\d+$/.test(v)) return toDate(Number(v));
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function formatWhen(v: string | number | null | undefined): string {
  const d = toDate(v);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Whether a lock-out time is still ahead. */
export function isFuture(v: string | number | null | undefined, now = Date.now()): boolean {
  const d = toDate(v);
  return d !== null && d.getTime() > now;
}
