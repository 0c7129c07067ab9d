// Follow-up recommendations (GET /api/v1/followups): the overdue list first, then pending,
// satisfied and closed; each row names the patient, the finding, the recommended
// examination, the interval, the due date and the sentence of the report it came from. A
// recommendation is closed with a reason (POST /api/v1/followups/{id}/close).
import { useMemo, useState } from 'react';
import { admin, type Followup, type FollowupState } from '../api/admin';
import { errorMessage } from '../lib/errors';
import { formatPatientName } from '../lib/format';
import { FOCUS_READER_EVENT, getReader } from '../lib/reader';
import { useResource } from '../hooks/useResource';
import { useCanRead } from '../auth/identity';
import { Link, navigate, readPath } from '../router';

export const FOLLOWUP_STATES: [FollowupState | 'all', string][] = [
  ['overdue', 'Overdue'], ['pending', 'Pending'], ['satisfied', 'Satisfied'], ['closed', 'Closed'], ['all', 'All'],
];

export interface FollowupView { state: FollowupState | 'all'; patient_id: string }

export function searchToFollowupView(search: string): FollowupView {
  const p = new URLSearchParams(search);
  const s = p.get('state') ?? 'overdue';
  const state = FOLLOWUP_STATES.some(([v]) => v === s) ? (s as FollowupView['state']) : 'overdue';
  return { state, patient_id: p.get('patient_id') ?? '' };
}

export function followupViewToSearch(v: FollowupView): string {
  const p = new URLSearchParams();
  if (v.state !== 'overdue') p.set('state', v.state);
  if (v.patient_id) p.set('patient_id', v.patient_id);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const DAY = 86_400_000;

function utcDay(ymd: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/** Whole days from due_date to today (local calendar date): > 0 overdue, ≤ 0 not yet due. */
export function daysPastDue(dueDate: string, today: Date = new Date()): number | null {
  const due = utcDay(dueDate);
  if (due === null) return null;
  const t = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return Math.round((t - due) / DAY);
}

/** Days in the largest unit that divides them: 365 → "1 year", 180 → "6 months", 14 → "2 weeks". */
function unitOf(days: number): [number, string] {
  if (days >= 365 && days % 365 === 0) return [365, 'year'];
  if (days >= 30 && days % 30 === 0) return [30, 'month'];
  if (days >= 7 && days % 7 === 0) return [7, 'week'];
  return [1, 'day'];
}

/** interval_days as a person says it: "3 months", "3–6 months", "90–180 days", "—". */
export function formatInterval(iv: Followup['interval_days']): string {
  if (iv === null || iv === undefined) return '—';
  if (Array.isArray(iv)) {
    const [a, b] = iv;
    if (a === b) return formatInterval(a);
    const [ua, na] = unitOf(a);
    const [ub] = unitOf(b);
    const unit = ua === ub && b % ua === 0 ? ua : 1;
    const name = unit === ua ? na : 'day';
    return `${a / unit}–${b / unit} ${name}s`;
  }
  const [u, name] = unitOf(iv);
  const n = iv / u;
  return `${n} ${name}${n === 1 ? '' : 's'}`;
}

/** "CT chest", "CT", "chest", "—". */
export function formatExam(f: Pick<Followup, 'modality' | 'body_region'>): string {
  return [f.modality, f.body_region].filter(Boolean).join(' ') || '—';
}

/** The state a row shows: the server's, or overdue for a pending one past its due date. */
export function effectiveState(f: Followup, today: Date = new Date()): FollowupState {
  if (f.state === 'pending') {
    const d = daysPastDue(f.due_date, today);
    if (d !== null && d > 0) return 'overdue';
  }
  return f.state;
}

/** Most overdue first, then by due date. */
export function sortFollowups(list: Followup[]): Followup[] {
  return [...list].sort((a, b) => (a.due_date === b.due_date ? a.id - b.id : a.due_date < b.due_date ? -1 : 1));
}

function CloseForm({ followup, onClosed }: { followup: Followup; onClosed: (f: Followup, msg: string) => void }) {
  const canClose = useCanRead();  // closing is the radiologist's (docs/access-control.md)
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  if (followup.state === 'closed' || followup.state === 'satisfied' || !canClose) return null;
  if (!open) {
    return <button type="button" onClick={() => setOpen(true)} data-testid={`close-${followup.id}`}>Close…</button>;
  }
  const submit = async () => {
    if (!getReader()) {
      setError('Enter your name (top right) first.');
      window.dispatchEvent(new Event(FOCUS_READER_EVENT));
      return;
    }
    if (!reason.trim()) { setError('Give a reason.'); return; }
    setBusy(true);
    try {
      const closed = await admin.closeFollowup(followup.id, reason.trim());
      onClosed(closed, `Closed the recommendation for ${formatPatientName(followup.patient_name) || followup.patient_id}: ${reason.trim()}`);
      setOpen(false);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="close-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <input aria-label="reason for closing" list="close-reasons" value={reason} autoFocus size={22}
             placeholder="reason (e.g. done elsewhere)" data-testid={`close-reason-${followup.id}`}
             onChange={(e) => setReason(e.target.value)}
             onKeyDown={(e) => { if (e.key === 'Escape') setOpen(false); }} />
      <button type="submit" className="primary" disabled={busy}>Close</button>
      <button type="button" className="link" onClick={() => setOpen(false)}>cancel</button>
      {error && <span className="error" role="alert">{error}</span>}
    </form>
  );
}

export function FollowupsPage({ search }: { search: string }) {
  const view = useMemo(() => searchToFollowupView(search), [search]);
  const [patient, setPatient] = useState(view.patient_id);
  const [message, setMessage] = useState('');
  const res = useResource(() => admin.followups({
    state: view.state === 'all' ? '' : view.state, patient_id: view.patient_id || undefined, limit: 500,
  }), [view.state, view.patient_id]);
  const rows = useMemo(() => sortFollowups(res.data ?? []), [res.data]);
  const today = new Date();
  const setView = (next: Partial<FollowupView>) =>
    navigate(`/followups${followupViewToSearch({ ...view, ...next })}`, { replace: true });

  return (
    <div className="admin-page followups-page" data-testid="followups-page">
      <div className="admin-head">
        <h2>Follow-up recommendations</h2>
        <nav className="tabs" aria-label="state">
          {FOLLOWUP_STATES.map(([v, label]) => (
            <button key={v} type="button" className={view.state === v ? 'tab active' : 'tab'}
                    aria-pressed={view.state === v} onClick={() => setView({ state: v })}>{label}</button>
          ))}
        </nav>
        <form onSubmit={(e) => { e.preventDefault(); setView({ patient_id: patient.trim() }); }}>
          <label className="inline">Patient ID
            <input name="patient_id" value={patient} size={12} onChange={(e) => setPatient(e.target.value)}
                   onBlur={() => { if (patient.trim() !== view.patient_id) setView({ patient_id: patient.trim() }); }} />
          </label>
        </form>
        <span className="count" data-testid="followup-count">{res.data ? `${rows.length} shown` : ''}</span>
        <button type="button" onClick={() => void res.reload()}>Refresh</button>
      </div>
      <datalist id="close-reasons">
        <option value="performed at another hospital" />
        <option value="patient declined" />
        <option value="not clinically indicated any more" />
        <option value="patient deceased" />
        <option value="recommendation extracted in error" />
      </datalist>
      {message && <div className="message message-info" data-testid="message">{message}</div>}
      {res.error && <div className="message message-error" role="alert">{res.error}</div>}
      <table className="grid followups-table" data-testid="followups-table">
        <thead>
          <tr>
            <th>Patient</th><th>Finding</th><th>Recommended exam</th><th>Interval</th>
            <th>Due</th><th className="num">Overdue</th><th>State</th><th>Source report</th>
            <th>Recommendation</th><th />
          </tr>
        </thead>
        <tbody>
          {!res.data && !res.error && <tr><td colSpan={10} className="empty">Loading…</td></tr>}
          {res.data && rows.length === 0 && (
            <tr><td colSpan={10} className="empty">
              {view.state === 'overdue' ? 'No overdue follow-ups.' : 'No follow-ups here.'}
            </td></tr>
          )}
          {rows.map((f) => {
            const state = effectiveState(f, today);
            const past = daysPastDue(f.due_date, today);
            return (
              <tr key={f.id} data-followup-id={f.id} className={`fu-${state}`}>
                <td className="c-name">
                  <b>{formatPatientName(f.patient_name) || '—'}</b>
                  <div className="muted small">{f.patient_id}{f.issuer_of_patient_id ? ` (${f.issuer_of_patient_id})` : ''}</div>
                </td>
                <td>{f.finding || '—'}{f.conditional && <span className="tag" title="the report makes it conditional">if indicated</span>}</td>
                <td>{formatExam(f)}</td>
                <td>{formatInterval(f.interval_days)}</td>
                <td className="c-date" title={`report date ${f.base_date} + interval`}>{f.due_date}</td>
                <td className={`num${state === 'overdue' ? ' overdue-days' : ''}`}>
                  {past === null ? '—' : state === 'overdue' || (state === 'pending' && past > 0) ? `${past} d`
                    : state === 'pending' ? <span className="muted">in {-past} d</span> : '—'}
                </td>
                <td>
                  <span className={`state fu-state-${state}`}>{state}</span>
                  {f.state === 'satisfied' && f.satisfied_by && (
                    <div className="small"><Link to={readPath(f.satisfied_by)} title={f.satisfied_by}>by study</Link></div>
                  )}
                  {f.state === 'closed' && (
                    <div className="small muted">{f.closed_reason}{f.closed_by ? ` — ${f.closed_by}` : ''}</div>
                  )}
                </td>
                <td>
                  {f.study_uid
                    ? <Link to={readPath(f.study_uid)} title={`study ${f.study_uid}`}>report {f.report_id}</Link>
                    : <span title="a report received without its study">report {f.report_id}</span>}
                  <div className="muted small">{f.base_date}</div>
                </td>
                <td className="c-sentence">“{f.text}”</td>
                <td>
                  <CloseForm followup={f} onClosed={(_, msg) => { setMessage(msg); void res.reload(); }} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
