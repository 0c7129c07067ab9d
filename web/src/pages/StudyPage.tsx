import { useState } from 'react';
import { api, thumbnailUrl } from '../api';
import { ConformancePanel } from '../components/Conformance';
import { FindingsTable, LesionsTable } from '../components/Findings';
import { PatientHeader } from '../components/PatientHeader';
import { useNow } from '../hooks/useNow';
import { useReader } from '../hooks/useReader';
import { useResource } from '../hooks/useResource';
import { useWorklistEvents } from '../hooks/useWorklistEvents';
import { errorMessage, type Verb } from '../lib/errors';
import { formatDicomDate, formatDuration, formatModalities, formatTimestamp, reasonLines } from '../lib/format';
import { FOCUS_READER_EVENT } from '../lib/reader';
import { loadWorklistSearch } from '../lib/session';
import { Link, navigate, readPath, studyPath } from '../router';
import type { ItemState } from '../types';

const ORDER_PRIORITIES = ['STAT', 'HIGH', 'ROUTINE', 'MEDIUM', 'LOW'];
// Worklist events after which the study's instances may have changed (src/workflow:
// arrived / updated when instances are stored; reconnected: events may have been missed).
// Claims, releases, state and priority changes and AI results leave the conformance report
// as it was.
const INSTANCE_EVENTS = new Set(['arrived', 'updated', 'reconnected']);

export function StudyPage({ uid }: { uid: string }) {
  const reader = useReader();
  const now = useNow(10_000);
  const study = useResource(() => api.study(uid), [uid]);
  const item = useResource(() => api.item(uid), [uid]);
  const findings = useResource(() => api.findings(uid), [uid]);
  const jobs = useResource(() => api.jobs(uid), [uid]);
  const priors = useResource(() => api.priors(uid), [uid]);
  const lesions = useResource(() => api.lesions(uid), [uid]);
  const conformance = useResource(() => api.conformance(uid), [uid]);
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useWorklistEvents((events) => {
    void study.reload();
    void item.reload();
    if (events.some((e) => INSTANCE_EVENTS.has(e.reason))) void conformance.reload();
    if (events.some((e) => e.reason === 'ai' || e.reason === 'updated' || e.reason === 'reconnected')) {
      void findings.reload();
      void jobs.reload();
      void lesions.reload();
      void priors.reload();
    }
  }, (e) => !e.study_uid || e.study_uid === uid);

  const run = async (verb: Verb, label: string, call: () => Promise<unknown>) => {
    if (!reader) {
      setMessage({ kind: 'error', text: 'Enter your reader name (top right) first.' });
      window.dispatchEvent(new Event(FOCUS_READER_EVENT));
      return;
    }
    setBusy(true);
    try {
      await call();
      setMessage({ kind: 'info', text: label });
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e, verb) });
    } finally {
      setBusy(false);
      void study.reload();
      void item.reload();
    }
  };
  const setState = (state: ItemState) => run('state', `State: ${state}.`, () => api.setState(uid, state));

  const s = study.data?.study ?? item.data ?? null;
  const series = study.data?.series ?? [];
  const audit = item.data?.audit ?? [];
  const state = s?.state;
  const mine = Boolean(s && s.reader && s.reader === reader);

  return (
    <div className="study-page" data-testid="study-page">
      <div className="crumbs">
        <Link to={`/worklist${loadWorklistSearch()}`}>‹ Worklist</Link>
        <span className="muted mono">{uid}</span>
      </div>
      {study.error && !s && <div className="message message-error" role="alert">{study.error}</div>}
      {s && <PatientHeader item={s} now={now} />}

      {s && (
        <div className="actions">
          <button type="button" className="primary" onClick={() => navigate(readPath(uid))}
                  disabled={state === 'final' || state === 'cancelled'} data-testid="action-read">Read</button>
          <button type="button" disabled={busy} onClick={() => run('claim', 'Claimed.', () => api.claim(uid))} data-testid="action-claim">Claim</button>
          <button type="button" disabled={busy || !mine} onClick={() => run('release', 'Released.', () => api.release(uid))} data-testid="action-release">Release</button>
          <button type="button" disabled={busy || state !== 'in_progress'} onClick={() => setState('preliminary')} data-testid="action-preliminary">Mark preliminary</button>
          <button type="button" disabled={busy || !(state === 'in_progress' || state === 'preliminary')} onClick={() => setState('final')} data-testid="action-final">Final</button>
          <button type="button" disabled={busy || state === 'final' || state === 'cancelled'} onClick={() => setState('cancelled')} data-testid="action-cancel">Cancel</button>
          {state === 'cancelled' && <button type="button" disabled={busy} onClick={() => setState('unread')}>Reopen</button>}
          <label className="inline">Order priority
            <select value={s.order_priority} disabled={busy} data-testid="order-priority"
                    onChange={(e) => run('priority', `Order priority: ${e.target.value || 'none'}.`, () => api.setPriority(uid, e.target.value))}>
              <option value="">—</option>
              {ORDER_PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          </label>
        </div>
      )}
      {message && (
        <div className={`message message-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message">
          {message.text}
          <button type="button" className="link" onClick={() => setMessage(null)} aria-label="dismiss">×</button>
        </div>
      )}

      <div className="columns">
        <section className="panel">
          <h3>Order</h3>
          {s ? (
            <dl className="facts">
              <dt>Accession</dt><dd data-testid="accession">{s.accession_number || '—'}</dd>
              <dt>Order priority</dt><dd>{s.order_priority || '—'}</dd>
              <dt>Referring</dt><dd>{s.referring_physician ? s.referring_physician.replace(/\^/g, ' ').trim() : '—'}</dd>
              <dt>Site</dt><dd>{s.site || '—'}</dd>
              <dt>Arrived</dt><dd>{formatTimestamp(s.arrived_at)}</dd>
              <dt>Complete</dt><dd>{s.completed_at ? formatTimestamp(s.completed_at) : 'images arriving'}</dd>
              <dt>Reported</dt><dd>{s.reported_at ? formatTimestamp(s.reported_at) : '—'}</dd>
              {s.reader && <><dt>Claim</dt><dd>{s.reader}{s.claim_expires_at ? `, expires ${formatTimestamp(s.claim_expires_at)}` : ''}</dd></>}
            </dl>
          ) : <p className="muted">loading…</p>}
        </section>

        <section className="panel grow">
          <h3>Series <span className="muted">({series.length})</span></h3>
          <div className="series-grid" data-testid="series">
            {series.map((se) => (
              <figure key={se.series_uid} className="series" data-series-uid={se.series_uid}>
                {se.first_sop_uid
                  ? <img src={thumbnailUrl(uid, se.series_uid, se.first_sop_uid)} alt={`series ${se.series_number}`} loading="lazy" />
                  : <div className="no-thumb">{se.modality}</div>}
                <figcaption>
                  <b>{se.series_number}</b> {se.modality} {se.series_description}
                  <span className="muted"> · {se.num_instances} img{se.body_part ? ` · ${se.body_part}` : ''}</span>
                </figcaption>
              </figure>
            ))}
            {study.data && !series.length && <p className="muted">No series.</p>}
          </div>
        </section>
      </div>

      <div className="columns">
        <section className="panel grow">
          <h3>AI findings</h3>
          {findings.error ? <p className="muted">{findings.error}</p> : <FindingsTable findings={findings.data} />}
        </section>
        <section className="panel">
          <h3>AI jobs</h3>
          {jobs.error ? <p className="muted">{jobs.error}</p> : !jobs.data ? <p className="muted">loading…</p> : !jobs.data.length ? <p className="muted">No AI jobs.</p> : (
            <table className="grid jobs">
              <thead><tr><th>app</th><th>state</th><th>tries</th><th>time</th><th>result</th></tr></thead>
              <tbody>
                {jobs.data.map((j) => (
                  <tr key={j.id} className={`job-${j.state}`}>
                    <td>{j.app_id} <span className="muted">{j.app_version}</span></td>
                    <td><span className={`jstate jstate-${j.state}`}>{j.state}</span></td>
                    <td className="num">{j.attempts}/{j.max_attempts}</td>
                    <td className="num">{j.duration_ms ? `${(j.duration_ms / 1000).toFixed(1)} s` : ''}</td>
                    <td className="details" title={j.error || j.summary}>{j.error || j.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <div className="columns">
        <section className="panel grow">
          <h3>Priors</h3>
          {priors.error ? <p className="muted">{priors.error}</p> : !priors.data ? <p className="muted">loading…</p> : !priors.data.priors?.length ? <p className="muted">No prior studies of this patient.</p> : (
            <table className="grid priors" data-testid="priors">
              <thead><tr><th>date</th><th>mod</th><th>body</th><th>description</th><th>score</th><th>why</th><th /></tr></thead>
              <tbody>
                {priors.data.priors.map((p, i) => (
                  <tr key={p.study_uid} className={i === 0 ? 'best' : ''}>
                    <td>{formatDicomDate(p.study_date)}</td>
                    <td>{formatModalities(p.modalities)}</td>
                    <td>{p.body_part}</td>
                    <td>{p.study_description}</td>
                    <td className="num">{Number(p.score).toFixed(1)}</td>
                    <td className="details">{reasonLines(p.reasons).join(' · ')}</td>
                    <td>{p.local === false ? <span className="muted">remote</span> : <Link to={studyPath(p.study_uid)}>open</Link>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="panel grow">
          <h3>Tracked lesions</h3>
          <LesionsTable followUp={lesions.data} error={lesions.error} />
        </section>
      </div>

      <section className="panel" data-testid="conformance-panel">
        <h3>Conformance</h3>
        <ConformancePanel report={conformance.data} error={conformance.error} series={series} />
      </section>

      <section className="panel">
        <h3>Audit trail</h3>
        {item.error ? <p className="muted">{item.error}</p> : !audit.length ? <p className="muted">Nothing yet.</p> : (
          <table className="grid audit" data-testid="audit">
            <thead><tr><th>when</th><th>reader</th><th>action</th><th>change</th><th>note</th></tr></thead>
            <tbody>
              {audit.map((a, i) => (
                <tr key={`${a.at}-${i}`}>
                  <td title={new Date(a.at).toISOString()}>{formatTimestamp(a.at)} <span className="muted">({formatDuration(now - a.at)} ago)</span></td>
                  <td>{a.reader}</td>
                  <td>{a.action}</td>
                  <td>{a.from || a.to ? `${a.from || '—'} → ${a.to || '—'}` : ''}</td>
                  <td>{a.note}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
