// The Scheduling page (issue 14; docs/scheduling.md): a department manager's week. Per scanner
// and day what was booked, performed, missed (no-show) and how long the scanner stood idle, as
// stacked bars (plain SVG) and as a table; the no-shows per day next to what the no-show model
// expected; and the week's high-risk appointments still to come with the suggested action
// (reminder call, overbooking the slot, confirming by phone) and why. Read-only: the marks are
// made on the Exams page. The figures are asked again every minute.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { scheduling, type RiskyAnswer, type StationDay } from '../api/scheduling';
import { NoShowChart } from '../components/charts/NoShowChart';
import { SplitLegend, StationWeekChart } from '../components/charts/StationWeekChart';
import { useNow } from '../hooks/useNow';
import { useResource } from '../hooks/useResource';
import { clock } from '../lib/exams';
import { formatPatientName } from '../lib/format';
import {
  addDays, byDate, byStation, dayLabel, daysLabel, hours, noShowRate, percent, searchToView, totals,
  viewToSearch, weekLabel, weekStart, type SchedulingView,
} from '../lib/scheduling';
import { navigate } from '../router';
import './scheduling.css';

const REFRESH_MS = 60_000;
const THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7];

function Tile({ label, value, sub, tone = '', testid }: { label: string; value: string; sub?: string; tone?: string; testid: string }) {
  return (
    <div className={`sched-tile ${tone}`} data-testid={testid}>
      <div className="sched-tile-label">{label}</div>
      <div className="sched-tile-value">{value}</div>
      {sub && <div className="sched-tile-sub muted">{sub}</div>}
    </div>
  );
}

function ActionTag({ action }: { action: string }) {
  const cls = action === 'overbook slot' ? 'overbook' : action === 'reminder call' ? 'reminder' : 'confirm';
  return <span className={`sched-action sched-action-${cls}`} data-testid="action">{action}</span>;
}

function RiskBar({ risk }: { risk: number }) {
  const pct = Math.round(risk * 100);
  const tone = risk >= 0.5 ? 'high' : risk >= 0.3 ? 'moderate' : 'low';
  return (
    <span className="sched-risk" data-testid="risk" title={`no-show risk ${pct} %`}>
      <span className="sched-risk-track"><span className={`sched-risk-fill sched-risk-${tone}`} style={{ width: `${pct}%` }} /></span>
      <span className="num">{pct} %</span>
    </span>
  );
}

function DaysTable({ days, names }: { days: StationDay[]; names: Map<string, string> }) {
  return (
    <table className="grid sched-table" data-testid="days-table">
      <thead>
        <tr>
          <th>Scanner</th><th>Day</th><th className="num">Booked</th><th className="num">Performed</th>
          <th className="num">No-show</th><th className="num">To come</th><th className="num">Cancelled</th>
          <th className="num">Open</th><th className="num">Performed time</th><th className="num" title="open time already past with no exam performed">Idle so far</th>
          <th className="num">Idle %</th><th className="num">Not booked</th><th className="num">Expected no-shows</th>
        </tr>
      </thead>
      <tbody>
        {byStation(days).map((g) => g.days.map((d, i) => (
          <tr key={`${d.station_ae}-${d.date}`} data-station={d.station_ae} data-date={d.date}
              className={i === 0 ? 'sched-first' : ''}>
            <td>{i === 0 ? <><b>{d.station_ae}</b> <span className="muted small">{names.get(d.station_ae) ?? ''}</span></> : ''}</td>
            <td>{dayLabel(d.date)}</td>
            <td className="num" data-col="booked">{d.booked}</td>
            <td className="num" data-col="performed">{d.performed}</td>
            <td className={`num${d.no_shows ? ' sched-bad' : ''}`} data-col="no_shows">{d.no_shows}</td>
            <td className="num" data-col="pending">{d.pending}</td>
            <td className="num muted" data-col="cancelled">{d.cancelled}</td>
            <td className="num">{hours(d.open_minutes)}</td>
            <td className="num">{hours(d.performed_minutes)}</td>
            <td className="num" data-col="idle">{d.elapsed_minutes ? hours(d.idle_minutes) : '—'}</td>
            <td className="num">{percent(d.idle_minutes, d.elapsed_minutes)}</td>
            <td className="num">{hours(d.unbooked_minutes)}</td>
            <td className="num">{d.scored ? d.expected_no_shows.toFixed(1) : '—'}</td>
          </tr>
        )))}
      </tbody>
    </table>
  );
}

const RISKY_SHOWN = 15;

function RiskyTable({ answer, threshold, names }: { answer: RiskyAnswer | null; threshold: number; names: Map<string, string> }) {
  const [all, setAll] = useState(false);
  if (!answer) return <p className="muted">Loading…</p>;
  if (!answer.items.length) {
    return (
      <p className="muted" data-testid="risky-empty">
        {answer.model
          ? `No appointment still to come has a no-show risk of ${Math.round(threshold * 100)} % or more.`
          : 'No no-show model is loaded (radflow serve --noshow-model FILE): appointments are not scored.'}
      </p>
    );
  }
  const items = all ? answer.items : answer.items.slice(0, RISKY_SHOWN);
  const counts = ['overbook slot', 'reminder call', 'confirm by phone']
    .map((a) => [a, answer.items.filter((i) => i.action === a).length] as const).filter(([, n]) => n > 0);
  return (
    <>
    <p className="sched-risky-summary" data-testid="risky-summary">
      <b>{answer.items.length}</b> appointment{answer.items.length === 1 ? '' : 's'} at risk:{' '}
      {counts.map(([a, n], i) => <span key={a}>{i ? ' · ' : ''}{n} × <ActionTag action={a} /></span>)}
    </p>
    <table className="grid sched-table" data-testid="risky-table">
      <thead>
        <tr><th>When</th><th>Scanner</th><th>Patient</th><th>Procedure</th><th>Risk</th><th>Reminder</th><th>Suggested action</th><th>Why</th></tr>
      </thead>
      <tbody>
        {items.map(({ order: o, action, why }) => (
          <tr key={o.id} data-order-id={o.id} data-action={action}>
            <td className="nowrap">{dayLabel(isoToDicom(o.scheduled_at))} {clock(o.scheduled_at)}</td>
            <td title={names.get(o.station_ae) ?? ''}>{o.station_ae || '—'}</td>
            <td><b>{formatPatientName(o.patient_name)}</b> <span className="muted small">{o.patient_id}</span></td>
            <td>{o.procedure_text}</td>
            <td><RiskBar risk={o.noshow_risk} /></td>
            <td>{o.reminder_sent ? 'sent' : <span className="muted">not yet</span>}</td>
            <td><ActionTag action={action} /></td>
            <td className="small">{why}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {answer.items.length > RISKY_SHOWN && (
      <button type="button" className="link" data-testid="risky-all" onClick={() => setAll(!all)}>
        {all ? `show the first ${RISKY_SHOWN}` : `show all ${answer.items.length}`}
      </button>
    )}
    </>
  );
}

function isoToDicom(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

export function SchedulingPage({ search }: { search: string }) {
  const now = useNow(REFRESH_MS);
  const view = useMemo(() => searchToView(search, Date.now()), [search]);
  const from = view.week;
  const to = addDays(view.week, 7);
  const setView = useCallback((v: SchedulingView) => navigate(`/scheduling${viewToSearch(v, Date.now())}`), []);

  const stations = useResource(() => scheduling.stations(), []);
  const days = useResource(() => scheduling.days(from, to, view.station), [from, to, view.station]);
  // The high-risk appointments still to come this week (a past week has none).
  const riskyFrom = Math.max(from, now);
  const risky = useResource(
    () => (riskyFrom < to ? scheduling.risky(riskyFrom, to, view.threshold)
      : Promise.resolve<RiskyAnswer>({ from, to, threshold: view.threshold, overbook: 0.7, model: true, items: [] })),
    [riskyFrom < to ? Math.floor(riskyFrom / REFRESH_MS) : 0, to, view.threshold],
  );
  const { reload: reloadDays } = days;
  useEffect(() => {
    const t = setInterval(() => { void reloadDays(); }, REFRESH_MS);
    return () => clearInterval(t);
  }, [reloadDays]);

  const names = useMemo(() => new Map((stations.data ?? []).map((s) => [s.station_ae, s.station_name])), [stations.data]);
  const openHours = useMemo(() => new Map((stations.data ?? []).map((s) => [s.station_ae, `${s.open}–${s.close} ${daysLabel(s.days)}`])), [stations.data]);
  const list = useMemo(() => days.data?.days ?? [], [days.data]);
  const riskyShown = useMemo(() => {
    if (!risky.data || !view.station) return risky.data;
    return { ...risky.data, items: risky.data.items.filter((i) => i.order.station_ae === view.station) };
  }, [risky.data, view.station]);
  const t = totals(list);
  const groups = byStation(list);
  const maxOpen = Math.max(60, ...list.map((d) => d.open_minutes));
  const thisWeek = weekStart(Date.now());
  const remainingExpected = list.filter((d) => d.day_start + 86_400_000 > now).reduce((s, d) => s + d.expected_no_shows, 0);

  return (
    <div className="sched-page" data-testid="scheduling-page">
      <div className="toolbar sched-toolbar">
        <h2 className="sched-title">Scheduling</h2>
        <button type="button" onClick={() => setView({ ...view, week: addDays(view.week, -7) })} aria-label="previous week">‹</button>
        <span className="sched-week" data-testid="week">{weekLabel(view.week)}</span>
        <button type="button" onClick={() => setView({ ...view, week: addDays(view.week, 7) })} aria-label="next week">›</button>
        {view.week !== thisWeek && <button type="button" className="link" onClick={() => setView({ ...view, week: thisWeek })}>this week</button>}
        <label className="muted">Scanner{' '}
          <select value={view.station} onChange={(e) => setView({ ...view, station: e.target.value })} data-testid="station-filter">
            <option value="">all</option>
            {(stations.data ?? []).map((s) => (
              <option key={s.station_ae} value={s.station_ae}>{s.station_ae}{s.station_name ? ` — ${s.station_name}` : ''}</option>
            ))}
          </select>
        </label>
        <label className="muted">High risk from{' '}
          <select value={String(view.threshold)} onChange={(e) => setView({ ...view, threshold: Number(e.target.value) })}
                  data-testid="threshold">
            {[...new Set([...THRESHOLDS, view.threshold])].sort().map((v) => (
              <option key={v} value={String(v)}>{Math.round(v * 100)} %</option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <span className="muted small">hours per scanner: {(stations.data ?? []).filter((s) => s.configured).length
          ? 'from --station-hours' : 'default 08:00–18:00'}</span>
      </div>
      {(days.error || stations.error || risky.error) && (
        <div className="message message-error" role="alert">{days.error || stations.error || risky.error}</div>
      )}

      <div className="sched-tiles">
        <Tile testid="tile-booked" label="Booked" value={String(t.booked)}
              sub={`${t.cancelled} cancelled · ${t.pending} still to come`} />
        <Tile testid="tile-performed" label="Performed" value={String(t.performed)}
              sub={`${percent(t.performed, t.performed + t.no_shows)} of known outcomes`} tone="good" />
        <Tile testid="tile-noshows" label="No-shows" value={String(t.no_shows)}
              sub={`rate ${noShowRate(t)} · ${hours(t.no_show_minutes)} of slots lost`} tone={t.no_shows ? 'bad' : ''} />
        <Tile testid="tile-idle" label="Scanner idle" value={hours(t.idle_minutes)}
              sub={`${percent(t.idle_minutes, t.elapsed_minutes)} of ${hours(t.elapsed_minutes)} open so far`} />
        <Tile testid="tile-unbooked" label="Not booked" value={hours(t.unbooked_minutes)}
              sub={`${percent(t.unbooked_minutes, t.open_minutes)} of the opening hours`} />
        <Tile testid="tile-expected" label="Expected no-shows" value={remainingExpected.toFixed(1)}
              sub={`still to come, by the model · ${riskyShown?.items.length ?? 0} high-risk`} tone={riskyShown?.items.length ? 'warn' : ''} />
      </div>

      <section className="panel sched-section" data-testid="utilisation">
        <h3>Scanner time per day <span className="muted small">opening hours split into what was performed, lost, still booked and free</span></h3>
        <SplitLegend />
        <div className="sched-charts">
          {groups.map((g) => (
            <StationWeekChart key={g.station} station={g.station} name={names.get(g.station)} hours={openHours.get(g.station)}
                              days={g.days} maxMinutes={maxOpen} />
          ))}
          {list.length > 0 && <NoShowChart rows={byDate(list)} />}
          {!list.length && days.data && <p className="muted">No scanner and no appointment in this week.</p>}
        </div>
      </section>

      <section className="panel sched-section" data-testid="risky">
        <h3>High-risk appointments still to come <span className="muted small">no-show risk {Math.round(view.threshold * 100)} % or more; overbook from {Math.round((risky.data?.overbook ?? Math.max(0.7, view.threshold)) * 100)} % without a reminder</span></h3>
        <RiskyTable answer={riskyShown ?? null} threshold={view.threshold} names={names} />
      </section>

      <section className="panel sched-section">
        <h3>Per scanner and day</h3>
        <DaysTable days={list} names={names} />
      </section>
    </div>
  );
}
