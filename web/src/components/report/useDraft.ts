// The draft being edited and its autosave: every change goes at once into the browser's copy
// (localStorage) and, a second after the typing stops (at the latest every 5 s), to the server
// as PUT /api/v1/reports/{id} with the revision it was made on. A 409 means someone else saved
// (another tab, another reader): the server's draft is loaded and the user told, with their
// own version kept to put back ("keep mine"). A failed request is retried every 5 s; the
// browser's copy survives a crash and is put back on opening when newer than the server's.
import { useCallback, useEffect, useRef, useState } from 'react';
import { reportApi, type Report, type ReportDetail } from '../../api/report';
import { debounce, type Debounced } from '../../lib/debounce';
import { ApiError, errorMessage } from '../../lib/errors';
import { getReader } from '../../lib/reader';
import {
  EMPTY_DOC, clearLocal, docEqual, docFromReport, localWins, readLocal, updateBody, writeLocal, type Doc,
} from './draft';

export type SaveState = 'clean' | 'dirty' | 'saving' | 'offline' | 'readonly';

export interface SaveStatus {
  state: SaveState;
  savedAt: number;       // last successful save (ms), 0 none
  error: string;         // why the last save failed
}

export interface Notice { kind: 'info' | 'error'; text: string }

export const AUTOSAVE_MS = 1000;
export const AUTOSAVE_MAX_MS = 5000;
export const RETRY_MS = 5000;

export interface DraftApi {
  doc: Doc;
  revision: number;
  status: SaveStatus;
  conflict: Doc | null;
  /** Starts editing `detail` (the server's draft); puts the browser's copy back when it wins. */
  open: (detail: Report) => boolean;
  change: (fn: (d: Doc) => Doc) => void;
  saveNow: () => Promise<boolean>;
  keepMine: () => void;
  dropConflict: () => void;
  close: () => void;
}

interface Options {
  /** The server's draft after a 409 (or the report, signed meanwhile). */
  onReloaded: (detail: ReportDetail) => void;
  onSaved?: () => void;
  notify: (n: Notice | null) => void;
  delayMs?: number;
}

export function useDraft({ onReloaded, onSaved, notify, delayMs = AUTOSAVE_MS }: Options): DraftApi {
  const [doc, setDoc] = useState<Doc>(EMPTY_DOC);
  const [revision, setRevision] = useState(0);
  const [status, setStatus] = useState<SaveStatus>({ state: 'readonly', savedAt: 0, error: '' });
  const [conflict, setConflict] = useState<Doc | null>(null);
  const docRef = useRef<Doc>(EMPTY_DOC);
  const revRef = useRef(0);
  const report = useRef<Pick<Report, 'id' | 'study_uid'> | null>(null);
  const serverDoc = useRef<Doc>(EMPTY_DOC);  // what the server holds at revRef
  const inflight = useRef<Promise<boolean> | null>(null);
  const retry = useRef<ReturnType<typeof setTimeout> | null>(null);
  const timer = useRef<Debounced | null>(null);
  const cb = useRef({ onReloaded, onSaved, notify });
  cb.current = { onReloaded, onSaved, notify };

  const setBoth = (d: Doc) => { docRef.current = d; setDoc(d); };
  const setRev = (r: number) => { revRef.current = r; setRevision(r); };
  const dirty = () => !docEqual(docRef.current, serverDoc.current);

  const keepLocal = (d: Doc) => {
    const r = report.current;
    if (!r) return;
    writeLocal({ v: 1, report_id: r.id, study_uid: r.study_uid, revision: revRef.current, saved_at: Date.now(), doc: d });
  };

  const saveOnce = useCallback(async (): Promise<boolean> => {
    const r = report.current;
    if (!r) return false;
    if (!dirty()) {
      setStatus((s) => (s.state === 'readonly' ? s : { ...s, state: 'clean', error: '' }));
      return true;
    }
    const snapshot = docRef.current;
    setStatus((s) => ({ ...s, state: 'saving' }));
    try {
      const ans = await reportApi.save(r.id, updateBody(snapshot, revRef.current));
      if (report.current?.id !== r.id) return false;
      serverDoc.current = snapshot;
      setRev(typeof ans?.revision === 'number' ? ans.revision : revRef.current + 1);
      const still = dirty();
      if (still) keepLocal(docRef.current);
      else clearLocal(r.id);
      setStatus({ state: still ? 'dirty' : 'clean', savedAt: Date.now(), error: '' });
      if (still) timer.current?.trigger();
      cb.current.onSaved?.();
      return true;
    } catch (e) {
      if (report.current?.id !== r.id) return false;
      if (e instanceof ApiError && e.status === 409) {
        // Saved elsewhere, or no longer a draft: load what the server has.
        try {
          const fresh = await reportApi.get(r.id);
          const theirs = docFromReport(fresh);
          if (fresh.status !== 'draft') {
            report.current = null;
            clearLocal(r.id);
            setStatus({ state: 'readonly', savedAt: 0, error: '' });
            cb.current.notify({ kind: 'error', text: `This report was signed meanwhile (${fresh.status}${fresh.signed_by ? ` by ${fresh.signed_by}` : ''}); your last changes were not saved.` });
            cb.current.onReloaded(fresh);
            return false;
          }
          serverDoc.current = theirs;
          setRev(fresh.revision);
          setConflict(snapshot);
          setBoth(theirs);
          clearLocal(r.id);
          setStatus({ state: 'clean', savedAt: 0, error: '' });
          cb.current.notify({
            kind: 'error',
            text: `The draft was saved elsewhere (revision ${fresh.revision}${fresh.author ? `, ${fresh.author}` : ''}): the saved version is loaded. Your version was not saved — "Keep mine" puts it back.`,
          });
          cb.current.onReloaded(fresh);
        } catch (e2) {
          setStatus((s) => ({ ...s, state: 'offline', error: errorMessage(e2) }));
        }
        return false;
      }
      // Offline or a server error: the browser's copy has it; try again.
      setStatus((s) => ({ ...s, state: 'offline', error: errorMessage(e) }));
      if (retry.current) clearTimeout(retry.current);
      retry.current = setTimeout(() => { retry.current = null; void saveNowRef.current(); }, RETRY_MS);
      return false;
    }
  }, []);

  const saveNow = useCallback(async (): Promise<boolean> => {
    timer.current?.cancel();
    // One request at a time; a change made meanwhile is saved right after.
    while (inflight.current) await inflight.current.catch(() => false);
    const p = saveOnce();
    inflight.current = p;
    try { return await p; } finally { if (inflight.current === p) inflight.current = null; }
  }, [saveOnce]);
  const saveNowRef = useRef(saveNow);
  saveNowRef.current = saveNow;

  useEffect(() => {
    const d = debounce(() => { void saveNowRef.current(); }, delayMs, AUTOSAVE_MAX_MS);
    timer.current = d;
    return () => { d.cancel(); timer.current = null; };
  }, [delayMs]);

  const open = useCallback((detail: Report): boolean => {
    const theirs = docFromReport(detail);
    report.current = { id: detail.id, study_uid: detail.study_uid };
    serverDoc.current = theirs;
    setRev(detail.revision);
    setConflict(null);
    const local = readLocal(detail.id);
    if (localWins(local, detail, theirs)) {
      setBoth(local!.doc);
      keepLocal(local!.doc);
      setStatus({ state: 'dirty', savedAt: 0, error: '' });
      timer.current?.trigger();
      return true;
    }
    if (local) clearLocal(detail.id);
    setBoth(theirs);
    setStatus({ state: 'clean', savedAt: 0, error: '' });
    return false;
  }, []);

  const change = useCallback((fn: (d: Doc) => Doc) => {
    if (!report.current) return;
    const next = fn(docRef.current);
    if (next === docRef.current) return;
    setBoth(next);
    keepLocal(next);
    setStatus((s) => ({ ...s, state: s.state === 'offline' ? 'offline' : 'dirty' }));
    timer.current?.trigger();
  }, []);

  const keepMine = useCallback(() => {
    if (!conflict) return;
    const mine = conflict;
    setConflict(null);
    cb.current.notify(null);
    change(() => mine);
    void saveNowRef.current();
  }, [conflict, change]);

  const close = useCallback(() => {
    timer.current?.cancel();
    if (retry.current) clearTimeout(retry.current);
    report.current = null;
    setStatus({ state: 'readonly', savedAt: 0, error: '' });
  }, []);

  // Leaving the page: what is not saved yet goes with a keepalive request (the browser's
  // copy has it anyway); leaving the view (next study): saved normally.
  useEffect(() => {
    const onUnload = () => {
      const r = report.current;
      if (!r || !dirty()) return;
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      const reader = getReader();
      if (reader) headers['X-Radflow-Reader'] = reader;
      try {
        void fetch(`/api/v1/reports/${r.id}`, {
          method: 'PUT', keepalive: true, credentials: 'same-origin', headers, body: JSON.stringify(updateBody(docRef.current, revRef.current)),
        }).catch(() => {});
      } catch { /* the local copy is there */ }
    };
    window.addEventListener('pagehide', onUnload);
    return () => {
      window.removeEventListener('pagehide', onUnload);
      if (retry.current) clearTimeout(retry.current);
      if (report.current && dirty()) void saveOnce();
    };
  }, [saveOnce]);

  return {
    doc, revision, status, conflict, open, change, saveNow, keepMine,
    dropConflict: () => { setConflict(null); cb.current.notify(null); }, close,
  };
}
