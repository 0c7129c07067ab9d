// The technologist's Exams page (issue 14; docs/orders.md): the day's exams per scanner
// (ScheduledStationAETitle) — time, priority (STAT first and marked), patient, requested
// procedure, reason for exam, the protocol the rules proposed with why (Accept, or Change to
// another of GET /api/v1/protocols), the status as the technologist (arrived, no-show) and
// the modality's MPPS (in progress, completed, discontinued) set it, and the no-show risk of
// the model with the reminder call. Below, the studies that arrived without an order, to
// link to one or dismiss. The list is asked again every 20 s (MPPS changes it).
import { Fragment, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  STATUS_LABELS, orders, type Order, type OrderAudit, type Protocol, type UnmatchedStudy,
} from '../api/orders';
import { useNow } from '../hooks/useNow';
import { useResource } from '../hooks/useResource';
import { errorMessage } from '../lib/errors';
import {
  DONE, NO_STATION, clock, countExams, dayOf, dayRange, examsViewToSearch, groupByStation, isLate, isStat,
  riskLevel, searchToExamsView, shiftDay, type ExamsView, type StationGroup,
} from '../lib/exams';
import { formatAgeSex, formatDicomDate, formatPatientName } from '../lib/format';
import { formatWhen } from '../lib/when';
import { Link, navigate, studyPath } from '../router';

const REFRESH_MS = 20_000;
type Message = { kind: 'error' | 'info'; text: string } | null;
type Act = (what: string, fn: () => Promise<unknown>) => Promise<boolean>;

export function PriorityTag({ priority }: { priority: string }) {
  const p = (priority || 'ROUTINE').toUpperCase();
  return <span className={`order order-${p.toLowerCase()}`} data-testid="priority">{p}</span>;
}

export function ExamStatus({ order }: { order: Order }) {
  const s = order.status;
  const performed = order.performed_start
    ? `${clock(order.performed_start)}${order.performed_end ? `–${clock(order.performed_end)}` : ''}` : '';
  return (
    <span className="exam-status">
      <span className={`xstatus xstatus-${s}`} data-testid="status">{STATUS_LABELS[s] ?? s}</span>
      {performed && <span className="muted small" title={`MPPS ${order.mpps_uid}`}>MPPS {performed}</span>}
      {order.linked_study_uid && <Link to={studyPath(order.linked_study_uid)} className="small" title="the study that arrived for this order">images</Link>}
    </span>
  );
}

export function RiskBadge({ order }: { order: Order }) {
  const level = riskLevel(order.noshow_risk);
  if (level === 'none') return <span className="muted" title="not scored">—</span>;
  const pct = Math.round(order.noshow_risk * 100);
  return <span className={`risk risk-${level}`} data-testid="risk" title={`no-show risk ${pct} % (${level})`}>{pct} %</span>;
}

function ProtocolCell({ order, protocols, act }: { order: Order; protocols: Protocol[]; act: Act }) {
  const [changing, setChanging] = useState(false);
  const [code, setCode] = useState('');
  const state = order.protocol_state;
  const open = !DONE.has(order.status);
  const candidates = useMemo(() => {
    // a rule's modality may list several codes: "CR|DX|XR"
    const own = protocols.filter((p) => !p.modality || p.modality.split('|').includes(order.modality));
    return own.length ? own : protocols;
  }, [protocols, order.modality]);
  // The rule set says whether the protocol needs contrast (IV line, renal function, allergy check).
  const contrast = protocols.find((p) => p.protocol_code === order.protocol_code)?.contrast ?? '';
  const startChange = () => { setCode(order.protocol_code || candidates[0]?.protocol_code || ''); setChanging(true); };
  const save = async () => {
    const p = protocols.find((x) => x.protocol_code === code);
    if (!p) return;
    if (await act(`protocol ${p.protocol_name}`, () => orders.changeProtocol(order.id, p.protocol_code, p.protocol_name))) setChanging(false);
  };
  return (
    <div className="protocol" data-testid="protocol" data-state={state || 'none'}>
      {order.protocol_code ? (
        <div className="protocol-line">
          <span className="protocol-name">{order.protocol_name || order.protocol_code}</span>
          <span className="mono muted">{order.protocol_code}</span>
          {contrast && contrast !== 'none' && <span className="tag contrast" data-testid="contrast" title="the protocol needs contrast">{contrast === 'iv' ? 'IV contrast' : `${contrast} contrast`}</span>}
          {state === 'proposed' && <span className="tag pstate-proposed">proposed</span>}
          {state === 'accepted' && <span className="tag pstate-accepted" title={`by ${order.protocol_by}`}>✓ {order.protocol_by || 'accepted'}</span>}
          {state === 'changed' && <span className="tag pstate-changed" title={`changed by ${order.protocol_by}`}>changed · {order.protocol_by}</span>}
        </div>
      ) : <div className="muted">no protocol proposed</div>}
      {order.protocol_reason && <div className="protocol-reason" title={order.protocol_reason}>{order.protocol_reason}</div>}
      {open && !changing && (
        <div className="protocol-actions">
          {state === 'proposed' && (
            <button type="button" className="primary" onClick={() => act(`accepted ${order.protocol_name || order.protocol_code}`, () => orders.acceptProtocol(order.id))} data-testid="protocol-accept">Accept</button>
          )}
          <button type="button" onClick={startChange} disabled={!protocols.length} data-testid="protocol-change"
            title={protocols.length ? '' : 'the protocol list did not load'}>{order.protocol_code ? 'Change' : 'Choose'}</button>
        </div>
      )}
      {changing && (
        <div className="protocol-actions">
          <select value={code} onChange={(e) => setCode(e.target.value)} aria-label="protocol" data-testid="protocol-select">
            {candidates.map((p) => (
              <option key={p.protocol_code} value={p.protocol_code}>
                {p.protocol_name} ({p.protocol_code}){p.contrast && p.contrast !== 'none' ? ` · ${p.contrast}` : ''}
              </option>
            ))}
          </select>
          <button type="button" className="primary" onClick={save} disabled={!code} data-testid="protocol-save">Save</button>
          <button type="button" className="link" onClick={() => setChanging(false)}>Cancel</button>
        </div>
      )}
    </div>
  );
}

function StatusActions({ order, now, act }: { order: Order; now: number; act: Act }) {
  const who = formatPatientName(order.patient_name) || order.patient_id;
  switch (order.status) {
    case 'scheduled':
      return (
        <>
          <button type="button" className="primary" onClick={() => act(`${who} arrived`, () => orders.setStatus(order.id, 'arrived'))} data-testid="mark-arrived">Arrived</button>
          <button type="button" className={isLate(order, now) ? 'warn' : ''} onClick={() => act(`${who} no-show`, () => orders.setStatus(order.id, 'no_show'))} data-testid="mark-noshow">No-show</button>
        </>
      );
    case 'arrived':
    case 'no_show':
      return (
        <button type="button" className="link" onClick={() => act(`${who} back to scheduled`, () => orders.setStatus(order.id, 'scheduled'))}
          data-testid="mark-scheduled">{order.status === 'arrived' ? 'Undo arrival' : 'Undo no-show'}</button>
      );
    default:
      return null;
  }
}

function Details({ order }: { order: Order }) {
  const audit = useResource(() => orders.audit(order.id), [order.id, order.updated_at]);
  return (
    <div className="exam-details" data-testid="exam-details">
      <dl className="facts">
        <dt>Accession</dt><dd>{order.accession_number || '—'}</dd>
        <dt>Requested procedure</dt><dd>{order.procedure_text} <span className="mono muted">{order.procedure_code}{order.procedure_scheme ? ` (${order.procedure_scheme})` : ''}</span></dd>
        <dt>Referring</dt><dd>{formatPatientName(order.referring_physician) || '—'}</dd>
        <dt>Placer / filler</dt><dd className="mono">{order.placer_order_number || '—'} / {order.filler_order_number || '—'}</dd>
        <dt>Study UID</dt><dd className="mono">{order.study_uid}</dd>
        <dt>Booked</dt><dd>{formatWhen(order.booked_at)} <span className="muted">({order.source})</span></dd>
        {order.protocol_rule && <><dt>Rule</dt><dd className="mono">{order.protocol_rule}</dd></>}
        {order.mpps_uid && <><dt>MPPS</dt><dd className="mono">{order.mpps_uid}</dd></>}
      </dl>
      <div className="exam-audit">
        <h4>History</h4>
        {audit.error && <p className="error small">{audit.error}</p>}
        <ul className="audit">
          {(audit.data ?? []).map((a: OrderAudit) => (
            <li key={a.id}><span className="c-date">{formatWhen(a.at)}</span> <b>{a.action}</b> {a.user} <span className="muted">{a.note}</span></li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function ExamRow({ order, protocols, now, act, open, onToggle }: {
  order: Order; protocols: Protocol[]; now: number; act: Act; open: boolean; onToggle: () => void;
}) {
  const done = DONE.has(order.status);
  const classes = ['exam', `exam-${order.status}`, isStat(order) && !done ? 'stat' : '', isLate(order, now) ? 'late' : '', open ? 'selected' : '']
    .filter(Boolean).join(' ');
  const day = dayOf(order.scheduled_at).replace(/-/g, '');
  return (
    <>
      <tr className={classes} data-order-id={order.id} data-accession={order.accession_number} data-status={order.status} data-priority={order.priority}>
        <td className="c-time">
          <b>{clock(order.scheduled_at)}</b>
          {order.duration_minutes > 0 && <span className="muted small"> {order.duration_minutes}′</span>}
          {isLate(order, now) && <div className="late-note small">late {Math.round((now - order.scheduled_at) / 60_000)} min</div>}
        </td>
        <td><PriorityTag priority={order.priority} /></td>
        <td className="c-patient">
          <button type="button" className="link patient-link" onClick={onToggle} aria-expanded={open} data-testid="exam-toggle">
            {formatPatientName(order.patient_name) || order.patient_id}
          </button>
          <div className="muted small">{order.patient_id} · {formatAgeSex(order.birth_date, order.sex, day)}</div>
        </td>
        <td className="c-proc">
          <div>{order.procedure_text || order.procedure_code}</div>
          <div className="muted small">{order.modality}{order.accession_number ? ` · ${order.accession_number}` : ''}</div>
        </td>
        <td className="c-reason" title={order.reason}>{order.reason || <span className="muted">—</span>}</td>
        <td className="c-protocol"><ProtocolCell order={order} protocols={protocols} act={act} /></td>
        <td className="c-status"><ExamStatus order={order} /></td>
        <td className="c-risk">
          <RiskBadge order={order} />
          {order.reminder_sent && <div className="tag reminded">reminded</div>}
          {!order.reminder_sent && order.status === 'scheduled' && riskLevel(order.noshow_risk) === 'high' && (
            <div><button type="button" className="link small" onClick={() => act(`reminder call to ${formatPatientName(order.patient_name)} noted`, () => orders.reminder(order.id, true))} title="Note that the patient was called (reminder) — high no-show risk" data-testid="mark-reminded">☎ mark called</button></div>
          )}
        </td>
        <td className="c-actions"><div className="row-actions"><StatusActions order={order} now={now} act={act} /></div></td>
      </tr>
      {open && <tr className="exam-detail-row"><td colSpan={9}><Details order={order} /></td></tr>}
    </>
  );
}

function StationTable({ group, protocols, now, act }: { group: StationGroup; protocols: Protocol[]; now: number; act: Act }) {
  const [openId, setOpenId] = useState(0);
  const c = countExams(group.items);
  const label = group.station === NO_STATION ? 'No station' : group.station;
  return (
    <section className="station" data-station={group.station || 'none'}>
      <div className="station-head">
        <h3>{label}{group.name && <span className="muted"> · {group.name}</span>}</h3>
        <span className="station-counts small">
          <span>{c.total} exams</span>
          <span className="xstatus xstatus-scheduled">{c.toCome} to come</span>
          {c.arrived > 0 && <span className="xstatus xstatus-arrived">{c.arrived} arrived</span>}
          {c.inProgress > 0 && <span className="xstatus xstatus-in_progress">{c.inProgress} scanning</span>}
          <span className="xstatus xstatus-completed">{c.done} done</span>
          {c.noShow > 0 && <span className="xstatus xstatus-no_show">{c.noShow} no-show</span>}
        </span>
      </div>
      <table className="grid exams-table" data-testid={`exams-${group.station || 'none'}`}>
        <colgroup>
          <col className="w-time" /><col className="w-prio" /><col className="w-patient" /><col className="w-proc" />
          <col className="w-reason" /><col className="w-protocol" /><col className="w-status" /><col className="w-risk" /><col className="w-actions" />
        </colgroup>
        <thead><tr><th>Time</th><th>Prio</th><th>Patient</th><th>Procedure</th><th>Reason for exam</th><th>Protocol</th><th>Status</th><th>No-show</th><th /></tr></thead>
        <tbody>
          {group.items.map((o) => (
            <ExamRow key={o.id} order={o} protocols={protocols} now={now} act={act}
              open={openId === o.id} onToggle={() => setOpenId(openId === o.id ? 0 : o.id)} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function candidateLabel(o: Order): string {
  const day = dayOf(o.scheduled_at);
  const when = day === dayOf(Date.now()) ? clock(o.scheduled_at) : `${day} ${clock(o.scheduled_at)}`;
  return `${when} · ${o.procedure_text || o.procedure_code} · ${formatPatientName(o.patient_name)} · ${o.accession_number || `#${o.id}`}`;
}

function UnmatchedRow({ study, dayOrders, act }: { study: UnmatchedStudy; dayOrders: Order[]; act: Act }) {
  const [linking, setLinking] = useState(false);
  const [patientOrders, setPatientOrders] = useState<Order[] | null>(null);
  const [choice, setChoice] = useState('');
  const [error, setError] = useState('');
  const resolved = !!study.resolved_by;
  const candidates = useMemo(() => {
    const seen = new Set<number>();
    const list: Order[] = [];
    const add = (o: Order) => { if (!seen.has(o.id) && !o.linked_study_uid && o.status !== 'cancelled') { seen.add(o.id); list.push(o); } };
    (patientOrders ?? []).forEach(add);
    dayOrders.filter((o) => o.patient_id === study.patient_id).forEach(add);
    dayOrders.forEach(add);
    return list;
  }, [patientOrders, dayOrders, study.patient_id]);
  const startLink = async () => {
    setLinking(true);
    setError('');
    if (study.patient_id && patientOrders === null) {
      try { setPatientOrders((await orders.list({ patient: study.patient_id, limit: 50 })).items); } catch (e) { setError(errorMessage(e)); setPatientOrders([]); }
    }
  };
  useEffect(() => { if (linking && !choice && candidates[0]) setChoice(String(candidates[0].id)); }, [linking, choice, candidates]);
  const who = formatPatientName(study.patient_name) || study.patient_id;
  return (
    <tr data-unmatched={study.study_uid} className={resolved ? 'resolved' : ''}>
      <td className="c-date">{formatWhen(study.arrived_at)}</td>
      <td><b>{who}</b><div className="muted small">{study.patient_id}</div></td>
      <td>{study.accession_number || <span className="muted">none</span>}</td>
      <td>{study.modalities}</td>
      <td className="c-date">{formatDicomDate(study.study_date)}</td>
      <td><Link to={studyPath(study.study_uid)} className="mono c-uid" title={study.study_uid}>{study.study_uid}</Link></td>
      <td className="c-actions">
        {resolved ? (
          <span className="muted">{study.resolved_order_id ? `linked to order #${study.resolved_order_id}` : 'dismissed'} by {study.resolved_by}</span>
        ) : linking ? (
          <div className="row-actions">
            <select value={choice} onChange={(e) => setChoice(e.target.value)} aria-label="order to link" data-testid="link-order" className="link-select">
              {candidates.length === 0 && <option value="">no open order</option>}
              {candidates.map((o) => <option key={o.id} value={String(o.id)}>{o.patient_id === study.patient_id ? '★ ' : ''}{candidateLabel(o)}</option>)}
            </select>
            <button type="button" className="primary" disabled={!choice}
              onClick={() => act(`study of ${who} linked to order #${choice}`, () => orders.reconcile(study.study_uid, Number(choice)))} data-testid="link-submit">Link</button>
            <button type="button" className="link" onClick={() => setLinking(false)}>Cancel</button>
            {error && <span className="error small">{error}</span>}
          </div>
        ) : (
          <div className="row-actions">
            <button type="button" onClick={startLink} data-testid="link-start">Link to order…</button>
            <button type="button" onClick={() => act(`study of ${who} dismissed`, () => orders.reconcile(study.study_uid, 0))} data-testid="dismiss">Dismiss</button>
          </div>
        )}
      </td>
    </tr>
  );
}

function Reconciliation({ dayOrders, act, version }: { dayOrders: Order[]; act: Act; version: number }) {
  const [all, setAll] = useState(false);
  const list = useResource(() => orders.reconciliation(all), [all, version]);
  const items = list.data ?? [];
  const open = items.filter((s) => !s.resolved_by).length;
  return (
    <section className="panel reconciliation" data-testid="reconciliation">
      <div className="station-head">
        <h3>Studies without an order <span className={open ? 'count-warn' : 'muted'} data-testid="unmatched-count">{open}</span></h3>
        <label className="check small"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} data-testid="unmatched-all" /> show resolved</label>
      </div>
      {list.error && <p className="error" role="alert">{list.error}</p>}
      {items.length === 0 && !list.error && <p className="muted small">Every study that arrived has its order.</p>}
      {items.length > 0 && (
        <table className="grid unmatched-table">
          <thead><tr><th>Arrived</th><th>Patient</th><th>Accession</th><th>Modality</th><th>Study date</th><th>Study</th><th /></tr></thead>
          <tbody>{items.map((s) => <UnmatchedRow key={s.study_uid} study={s} dayOrders={dayOrders} act={act} />)}</tbody>
        </table>
      )}
    </section>
  );
}

export function ExamsPage({ search }: { search: string }) {
  const now = useNow(30_000);
  const today = dayOf(now);
  const view = useMemo(() => searchToExamsView(search, today), [search, today]);
  const setView = (next: Partial<ExamsView>) => navigate(`/exams${examsViewToSearch({ ...view, ...next }, today)}`, { replace: true });
  const range = dayRange(view.day)!;
  const [list, setList] = useState<Order[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [loadedAt, setLoadedAt] = useState(0);
  const [message, setMessage] = useState<Message>(null);
  const [version, setVersion] = useState(0);
  const seq = useRef(0);
  const protocols = useResource(() => orders.protocols(), []);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const answer = await orders.list({ from: range[0], to: range[1], limit: 1000 });
      if (mine !== seq.current) return;
      setList(answer.items);
      setLoadError('');
      setLoadedAt(Date.now());
    } catch (e) {
      if (mine === seq.current) setLoadError(errorMessage(e));
    }
  }, [range[0], range[1]]);  // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setList(null);
    void load();
    const t = setInterval(() => { if (!document.hidden) void load(); }, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);

  const act: Act = useCallback(async (what, fn) => {
    try {
      await fn();
      setMessage({ kind: 'info', text: `${what.charAt(0).toUpperCase()}${what.slice(1)}.` });
      await load();
      setVersion((v) => v + 1);
      return true;
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e) });
      void load();
      return false;
    }
  }, [load]);

  const all = list ?? [];
  const shown = all.filter((o) => (view.cancelled || o.status !== 'cancelled'));
  const groups = groupByStation(shown);
  const stations = groupByStation(all);
  const visible = view.station ? groups.filter((g) => g.station === view.station) : groups;
  const stats = all.filter((o) => isStat(o) && !DONE.has(o.status));
  const toAccept = all.filter((o) => o.protocol_state === 'proposed' && !DONE.has(o.status)).length;
  const isToday = view.day === today;

  return (
    <div className="admin-page exams-page">
      <div className="admin-head exams-head">
        <h2>Exams</h2>
        <div className="day-picker">
          <button type="button" onClick={() => setView({ day: shiftDay(view.day, -1) })} aria-label="previous day" data-testid="day-prev">◀</button>
          <input type="date" value={view.day} onChange={(e) => { if (dayRange(e.target.value)) setView({ day: e.target.value }); }} aria-label="day" data-testid="day" />
          <button type="button" onClick={() => setView({ day: shiftDay(view.day, 1) })} aria-label="next day" data-testid="day-next">▶</button>
          {!isToday && <button type="button" onClick={() => setView({ day: today })} data-testid="day-today">Today</button>}
          {isToday && <span className="muted">today</span>}
        </div>
        <div className="tabs" role="tablist" aria-label="station" data-testid="station-tabs">
          <button type="button" role="tab" aria-selected={!view.station} className={`tab${view.station ? '' : ' active'}`}
            onClick={() => setView({ station: '' })} data-testid="station-all">All stations</button>
          {stations.map((g) => (
            <button type="button" role="tab" key={g.station || 'none'} aria-selected={view.station === g.station}
              className={`tab${view.station === g.station && view.station ? ' active' : ''}`} disabled={!g.station}
              onClick={() => setView({ station: g.station })} data-testid={`station-tab-${g.station || 'none'}`}
              title={g.name}>{g.station || 'no station'} <span className="muted">{countExams(g.items).total}</span></button>
          ))}
        </div>
        <label className="check small"><input type="checkbox" checked={view.cancelled} onChange={(e) => setView({ cancelled: e.target.checked })} data-testid="show-cancelled" /> cancelled</label>
        {stats.length > 0 && <span className="stat-alert" data-testid="stat-alert">{stats.length} STAT waiting</span>}
        {toAccept > 0 && <span className="tag pstate-proposed" data-testid="to-accept">{toAccept} protocol{toAccept > 1 ? 's' : ''} to accept</span>}
        <span className="spacer" />
        <span className="muted small" data-testid="loaded-at">{loadedAt ? `updated ${clock(loadedAt)}` : ''}</span>
        <button type="button" onClick={() => { void load(); setVersion((v) => v + 1); }} data-testid="refresh">Refresh</button>
      </div>
      {message && (
        <div className={`message message-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message">
          <span>{message.text}</span><button type="button" className="link" onClick={() => setMessage(null)} aria-label="dismiss">×</button>
        </div>
      )}
      {loadError && <p className="error" role="alert" data-testid="load-error">{loadError}</p>}
      {protocols.error && <p className="error small">Protocol list: {protocols.error}</p>}
      {list === null && !loadError && <p className="muted">Loading…</p>}
      {list !== null && visible.length === 0 && <p className="muted empty-day" data-testid="no-exams">No exams scheduled {isToday ? 'today' : `on ${view.day}`}{view.station ? ` at ${view.station}` : ''}.</p>}
      {visible.map((g) => <Fragment key={g.station || 'none'}><StationTable group={g} protocols={protocols.data ?? []} now={now} act={act} /></Fragment>)}
      <Reconciliation dayOrders={all} act={act} version={version} />
    </div>
  );
}
