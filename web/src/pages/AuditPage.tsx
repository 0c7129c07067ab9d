// The audit trail (administrator): search by user, event, patient, study, dates and outcome
// (GET /api/v1/audit, paged); a record's DICOM audit message (PS3.15 A.5) in a drawer; the
// hash chain's check (GET /api/v1/audit/verify). The search lives in the URL (?user=…).
import { useEffect, useState, type FormEvent } from 'react';
import { security, type AuditQuery, type AuditRecord, type AuditVerify } from '../api/security';
import { useResource } from '../hooks/useResource';
import { errorMessage } from '../lib/errors';
import { formatPatientName } from '../lib/format';
import { formatWhen } from '../lib/when';
import { prettyXml } from '../lib/xml';
import { navigate } from '../router';

export const PAGE_SIZE = 50;

/** The audit events of docs/audit.md (the field also takes any other). */
export const AUDIT_EVENTS = [
  'login', 'login-failed', 'logout', 'locked-out', 'query', 'retrieve', 'view', 'store', 'import', 'export', 'deid',
  'report-signed', 'report-changed', 'app-changed', 'user-changed', 'token-changed', 'security-config',
  'security-alert', 'association', 'audit-log-used', 'patient-record', 'application-start', 'application-stop',
];

export interface AuditView {
  user: string; event: string; patient: string; study: string;
  since: string; until: string;   // YYYY-MM-DD (local dates)
  outcome: '' | 'success' | 'failure';
  offset: number;
}

const FIELDS = ['user', 'event', 'patient', 'study', 'since', 'until'] as const;

export function searchToAuditView(search: string): AuditView {
  const p = new URLSearchParams(search);
  const o = p.get('outcome');
  const offset = Number(p.get('offset') ?? 0);
  const day = (v: string | null) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '');
  return {
    user: p.get('user') ?? '', event: p.get('event') ?? '', patient: p.get('patient') ?? '', study: p.get('study') ?? '',
    since: day(p.get('since')), until: day(p.get('until')),
    outcome: o === 'success' || o === 'failure' ? o : '',
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

export function auditViewToSearch(v: AuditView): string {
  const p = new URLSearchParams();
  for (const k of FIELDS) if (v[k]) p.set(k, v[k]);
  if (v.outcome) p.set('outcome', v.outcome);
  if (v.offset) p.set('offset', String(v.offset));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A local calendar date's first instant, as ISO 8601 UTC ("until" is the next day's: inclusive). */
export function dayStartIso(ymd: string, plusDays = 0): string {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export function auditQueryOf(v: AuditView): AuditQuery {
  return {
    user: v.user.trim(), event: v.event.trim(), patient: v.patient.trim(), study: v.study.trim(),
    since: v.since ? dayStartIso(v.since) : '', until: v.until ? dayStartIso(v.until, 1) : '',
    outcome: v.outcome, limit: PAGE_SIZE, offset: v.offset,
  };
}

function isFailure(r: AuditRecord): boolean {
  return r.outcome !== 'success' && r.outcome !== '0';
}

function Drawer({ record, onClose }: { record: AuditRecord; onClose: () => void }) {
  const [xml, setXml] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    setXml('');
    setError('');
    security.auditXml(record.seq, ctl.signal).then(setXml, (e) => { if (!ctl.signal.aborted) setError(errorMessage(e)); });
    return () => ctl.abort();
  }, [record.seq]);
  useEffect(() => {
    const esc = (e: KeyboardEvent) => { if (e.key === 'Escape') onClose(); };
    window.addEventListener('keydown', esc);
    return () => window.removeEventListener('keydown', esc);
  }, [onClose]);
  return (
    <aside className="drawer" role="dialog" aria-label={`audit record ${record.seq}`} data-testid="audit-drawer">
      <div className="drawer-head">
        <b>Record {record.seq}</b> <span className="muted">{record.event} · {formatWhen(record.at)}</span>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="close">×</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {!xml && !error && <p className="muted">Loading…</p>}
      {xml && <pre className="xml" data-testid="audit-xml">{prettyXml(xml)}</pre>}
    </aside>
  );
}

function VerifyBox() {
  const [result, setResult] = useState<AuditVerify | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError('');
    try { setResult(await security.auditVerify()); } catch (e) { setError(errorMessage(e)); } finally { setBusy(false); }
  };
  useEffect(() => { void run(); }, []);
  return (
    <span className="verify" data-testid="audit-verify">
      <button type="button" onClick={run} disabled={busy}>Verify chain</button>
      {result && result.ok && <span className="tag app-enabled">chain intact · {result.records} records</span>}
      {result && !result.ok && (
        <span className="tag app-disabled">chain broken{result.first_bad_seq !== null ? ` at record ${result.first_bad_seq}` : ''}: {result.message}</span>
      )}
      {error && <span className="error">{error}</span>}
    </span>
  );
}

export function AuditPage({ search }: { search: string }) {
  const view = searchToAuditView(search);
  const [draft, setDraft] = useState(view);
  const [open, setOpen] = useState<AuditRecord | null>(null);
  useEffect(() => setDraft(searchToAuditView(search)), [search]);
  const page = useResource(() => security.audit(auditQueryOf(view)), [search]);
  const go = (v: AuditView) => navigate(`/audit${auditViewToSearch(v)}`);
  const submit = (e: FormEvent) => { e.preventDefault(); go({ ...draft, offset: 0 }); };
  const set = (k: keyof AuditView) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  const total = page.data?.total ?? 0;
  const records = page.data?.records ?? [];
  return (
    <div className="admin-page audit-page">
      <div className="admin-head"><h2>Audit trail</h2><VerifyBox /></div>
      <form className="filters audit-filters" onSubmit={submit} data-testid="audit-search">
        <label>User <input value={draft.user} onChange={set('user')} data-testid="audit-user" /></label>
        <label>Event
          <input value={draft.event} onChange={set('event')} list="audit-events" data-testid="audit-event" />
          <datalist id="audit-events">{AUDIT_EVENTS.map((e) => <option key={e} value={e} />)}</datalist>
        </label>
        <label>Patient <input value={draft.patient} onChange={set('patient')} placeholder="ID" data-testid="audit-patient" /></label>
        <label>Study <input value={draft.study} onChange={set('study')} placeholder="Study UID" data-testid="audit-study" /></label>
        <label>From <input type="date" value={draft.since} onChange={set('since')} data-testid="audit-since" /></label>
        <label>To <input type="date" value={draft.until} onChange={set('until')} data-testid="audit-until" /></label>
        <label>Outcome
          <select value={draft.outcome} onChange={set('outcome')} data-testid="audit-outcome">
            <option value="">any</option><option value="success">success</option><option value="failure">failure</option>
          </select>
        </label>
        <button type="submit" className="primary" data-testid="audit-submit">Search</button>
      </form>
      {page.error && <p className="error" role="alert">{page.error}</p>}
      <table className="grid audit-table" data-testid="audit-records">
        <thead><tr><th>#</th><th>Time</th><th>Event</th><th>Outcome</th><th>User</th><th>Role</th><th>Source</th><th>Patient</th><th>Study</th><th>Detail</th></tr></thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.seq} data-seq={r.seq} data-event={r.event} data-outcome={r.outcome} data-user={r.user} className={open?.seq === r.seq ? 'selected' : ''} onClick={() => setOpen(r)} tabIndex={0}
              onKeyDown={(e) => { if (e.key === 'Enter') setOpen(r); }}>
              <td className="num">{r.seq}</td>
              <td className="c-date">{formatWhen(r.at)}</td>
              <td>{r.event}{r.action && <span className="tag">{r.action}</span>}</td>
              <td className={isFailure(r) ? 'error' : ''}>{r.outcome}</td>
              <td className="c-user">{r.user}</td>
              <td>{r.role}</td>
              <td className="mono">{r.source}{r.interface && <span className="tag">{r.interface}</span>}</td>
              <td>{r.patient_id}{r.patient_name && <span className="muted"> {formatPatientName(r.patient_name)}</span>}</td>
              <td className="mono c-uid" title={r.study_uid}>{r.study_uid}</td>
              <td className="details" title={r.detail}>{r.detail}</td>
            </tr>
          ))}
          {page.data && records.length === 0 && <tr><td colSpan={10} className="empty">No records match.</td></tr>}
        </tbody>
      </table>
      <div className="pager" data-testid="audit-pager">
        <button type="button" disabled={view.offset === 0} onClick={() => go({ ...view, offset: Math.max(0, view.offset - PAGE_SIZE) })}>← Newer</button>
        <span className="count">{total ? `${view.offset + 1}–${view.offset + records.length} of ${total}` : '0 records'}</span>
        <button type="button" disabled={view.offset + records.length >= total} onClick={() => go({ ...view, offset: view.offset + PAGE_SIZE })}>Older →</button>
      </div>
      {open && <Drawer record={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
