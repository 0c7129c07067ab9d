import { useEffect, useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import { api } from '../api';
import { FindingsTable, LesionsTable } from '../components/Findings';
import { PatientHeader } from '../components/PatientHeader';
import { ReportEditor } from '../components/report/ReportEditor';
import { PriorReport } from '../components/report/ReportView';
import { reportCommand } from '../components/report/shortcuts';
import type { Report } from '../api/report';
import { useNow } from '../hooks/useNow';
import { useReader } from '../hooks/useReader';
import { useResource } from '../hooks/useResource';
import { useWorklistEvents } from '../hooks/useWorklistEvents';
import { ApiError, errorMessage } from '../lib/errors';
import { formatDicomDate, formatModalities, reasonLines } from '../lib/format';
import { adjacentStudy, readingCommand } from '../lib/keyboard';
import { ohifViewerUrl } from '../lib/ohif';
import { searchToView } from '../lib/query';
import { FOCUS_READER_EVENT } from '../lib/reader';
import { loadWorklistSearch } from '../lib/session';
import { Link, navigate, readPath, studyPath } from '../router';
import type { ItemState, Prior } from '../types';

/** claiming → reading (we hold the claim, heartbeats run) or blocked (no claim: 409 or no
 *  reader name); reading → done (reported or released: the viewer stays, no heartbeat). */
type Mode = 'claiming' | 'reading' | 'blocked' | 'viewonly' | 'done';
export const HEARTBEAT_MS = 60_000;

/** The report pane is open by default on screens this wide (narrower: a tab beside the
 *  viewer, so that the images keep their room); the reader's choice is remembered. */
export const REPORT_PANE_MIN_WIDTH = 1680;
const PANE_KEY = 'radflow.report-pane';

function initialPane(): boolean {
  try {
    const v = localStorage.getItem(PANE_KEY);
    if (v === 'open') return true;
    if (v === 'closed') return false;
  } catch { /* no storage */ }
  return typeof window !== 'undefined' && window.innerWidth >= REPORT_PANE_MIN_WIDTH;
}

export function ReadingPage({ uid }: { uid: string }) {
  const reader = useReader();
  const now = useNow(10_000);
  const [mode, setMode] = useState<Mode>('claiming');
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const [priors, setPriors] = useState<Prior[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [aiTick, setAiTick] = useState(0);
  const [paneOpen, setPaneOpen] = useState(initialPane);
  const showPane = (open: boolean) => {
    setPaneOpen(open);
    try { localStorage.setItem(PANE_KEY, open ? 'open' : 'closed'); } catch { /* no storage */ }
  };

  // A report key opens the pane first (capture phase, before the editor acts on the key:
  // it focuses and selects inside the pane).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const cmd = reportCommand(e);
      if (cmd && cmd !== 'save') flushSync(() => setPaneOpen(true));
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
  const study = useResource(() => api.study(uid), [uid]);
  const findings = useResource(() => api.findings(uid), [uid]);
  const lesions = useResource(() => api.lesions(uid), [uid]);

  // Claim on opening.
  useEffect(() => {
    let cancelled = false;
    if (!reader) {
      setMode('blocked');
      setMessage({ kind: 'error', text: 'Enter your reader name (top right) to read this study.' });
      window.dispatchEvent(new Event(FOCUS_READER_EVENT));
      return undefined;
    }
    setMode('claiming');
    api.claim(uid).then(() => {
      if (cancelled) return;
      setMode('reading');
      setMessage(null);
      void study.reload();
    }).catch((e) => {
      if (cancelled) return;
      setMode('blocked');
      setMessage({ kind: 'error', text: errorMessage(e, 'claim') });
    });
    return () => { cancelled = true; };
  }, [uid, reader]);

  // The most relevant prior decides the viewer's layout.
  useEffect(() => {
    let cancelled = false;
    api.priors(uid).then((p) => { if (!cancelled) setPriors(p?.priors ?? []); })
      .catch(() => { if (!cancelled) setPriors([]); });
    return () => { cancelled = true; };
  }, [uid]);

  // Heartbeat while we hold the claim.
  useEffect(() => {
    if (mode !== 'reading') return undefined;
    const t = setInterval(() => {
      api.heartbeat(uid).catch((e) => {
        if (e instanceof ApiError && e.status === 409) {
          setMode('done');
          setMessage({ kind: 'error', text: `The claim was lost: ${errorMessage(e, 'heartbeat')}` });
        }
      });
    }, HEARTBEAT_MS);
    return () => clearInterval(t);
  }, [mode, uid]);

  useWorklistEvents((events) => {
    void study.reload();
    if (events.some((e) => e.reason === 'ai' || e.reason === 'reconnected')) {
      void findings.reload();
      void lesions.reload();
      setAiTick((t) => t + 1);
    }
  }, (e) => !e.study_uid || e.study_uid === uid);

  const item = study.data?.study ?? null;
  const mine = mode === 'reading';

  const back = () => navigate(`/worklist${loadWorklistSearch()}`);

  const move = async (dir: 1 | -1) => {
    if (busy) return;
    setBusy(true);
    try {
      const view = { ...searchToView(loadWorklistSearch()), page: 0, pageSize: 500 };
      const list = await api.worklist(view);
      const next = adjacentStudy(list.items, uid, dir, reader);
      if (!next) {
        setMessage({ kind: 'info', text: dir === 1 ? 'No next study to read in the worklist.' : 'No previous study to read in the worklist.' });
        return;
      }
      if (mine) {
        try { await api.release(uid); } catch { /* expired or already given back */ }
      }
      navigate(readPath(next.study_uid));
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

  const report = async (state: ItemState) => {
    setBusy(true);
    try {
      await api.setState(uid, state);
      setMode('done');
      setMessage({ kind: 'info', text: `Marked ${state}. Press n for the next study.` });
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e, 'state') });
    } finally {
      setBusy(false);
      void study.reload();
    }
  };

  const release = async () => {
    setBusy(true);
    try {
      await api.release(uid);
      setMode('done');
      setMessage({ kind: 'info', text: 'Released. Press n for the next study, Escape for the worklist.' });
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e, 'release') });
    } finally {
      setBusy(false);
      void study.reload();
    }
  };

  // The report is signed: this study is done. Where the server left the worklist item in
  // progress under our claim, it is moved on to the report's status here.
  const signed = async (r: Report) => {
    setMode('done');
    setMessage({ kind: 'info', text: `Report signed ${r.status}. Press n for the next study.` });
    try {
      const now = (await api.study(uid)).study;
      if (now.state === 'in_progress' && now.reader === reader && (r.status === 'final' || r.status === 'preliminary')) {
        await api.setState(uid, r.status, `report ${r.id} signed`);
      }
    } catch { /* the worklist shows what the server has */ }
    void study.reload();
  };

  const keys = useRef({ move, back });
  keys.current = { move, back };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const cmd = readingCommand(e);
      if (!cmd) return;
      e.preventDefault();
      if (cmd === 'nextStudy') void keys.current.move(1);
      else if (cmd === 'prevStudy') void keys.current.move(-1);
      else keys.current.back();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const showViewer = (mode === 'reading' || mode === 'viewonly' || mode === 'done') && priors !== null;
  const viewerUrl = priors !== null ? ohifViewerUrl(uid, priors, item?.modalities) : '';
  const prior = priors?.[0];

  return (
    <div className="reading" data-testid="reading" data-mode={mode}>
      <aside className="side">
        <div className="crumbs">
          <button type="button" className="link" onClick={back}>‹ Worklist <kbd>Esc</kbd></button>
          <Link to={studyPath(uid)}>study page</Link>
        </div>
        {item ? <PatientHeader item={item} now={now} compact /> : study.error ? <p className="muted">{study.error}</p> : <p className="muted">loading…</p>}
        {message && (
          <div className={`message message-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message">
            {message.text}
          </div>
        )}
        {mode === 'blocked' && reader && (
          <button type="button" onClick={() => setMode('viewonly')} data-testid="view-only">View images without claiming</button>
        )}
        <div className="actions">
          <button type="button" disabled={!mine || busy} onClick={() => void report('preliminary')} data-testid="action-preliminary">Preliminary</button>
          <button type="button" className="primary" disabled={!(mine || (mode === 'done' && item?.state === 'preliminary' && item.reader === reader)) || busy}
                  onClick={() => void report('final')} data-testid="action-final">Final</button>
          <button type="button" disabled={!mine || busy} onClick={() => void release()} data-testid="action-release">Release</button>
        </div>
        <div className="actions">
          <button type="button" disabled={busy} onClick={() => void move(-1)} data-testid="action-prev">‹ Prev <kbd>p</kbd></button>
          <button type="button" disabled={busy} onClick={() => void move(1)} data-testid="action-next">Next <kbd>n</kbd> ›</button>
        </div>
        <p className="muted small">
          {mode === 'reading' && 'You hold the claim (renewed every minute while open). '}
          Keys act when the focus is outside the viewer.
        </p>

        <h3>Comparison</h3>
        {priors === null ? <p className="muted">loading…</p> : prior ? (
          <p data-testid="prior">
            {formatDicomDate(prior.study_date)} {formatModalities(prior.modalities)} {prior.body_part} {prior.study_description}
            <span className="muted"> · score {Number(prior.score).toFixed(0)} · {reasonLines(prior.reasons).join(', ')}</span>
          </p>
        ) : <p className="muted" data-testid="prior">No prior study.</p>}
        {prior && (
          <>
            <h3>Prior report</h3>
            <PriorReport priorUid={prior.study_uid} />
          </>
        )}

        <h3>AI findings</h3>
        {findings.error ? <p className="muted">{findings.error}</p> : <FindingsTable findings={findings.data} compact />}
        <h3>Tracked lesions</h3>
        <LesionsTable followUp={lesions.data} error={lesions.error} />
      </aside>
      <section className="viewer">
        {showViewer
          ? <iframe title="OHIF viewer" src={viewerUrl} data-testid="viewer" allow="fullscreen" />
          : <div className="viewer-placeholder">{mode === 'claiming' ? 'Claiming…' : mode === 'blocked' ? 'Not opened for reading.' : 'Loading…'}</div>}
      </section>
      <section className={`report-pane${paneOpen ? '' : ' report-pane-closed'}`} aria-label="Report" data-testid="report-pane"
               data-open={paneOpen ? 'true' : 'false'}>
        <button type="button" className="report-pane-toggle" onClick={() => showPane(!paneOpen)} data-testid="report-pane-toggle"
                title={paneOpen ? 'Hide the report (more room for the images)' : 'Show the report'}>
          {paneOpen ? '›' : '‹ Report'}
        </button>
        {mode !== 'claiming' && (
          <ReportEditor studyUid={uid} reader={reader} onSigned={(r) => void signed(r)} aiTick={aiTick}
                        canEdit={Boolean(reader) && (mode === 'reading' || mode === 'done')} />
        )}
      </section>
    </div>
  );
}
