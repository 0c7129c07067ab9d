import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { api } from '../api';
import { AiBadge, OrderBadge, PriorityBadge, StateBadge } from '../components/Badges';
import { useNow } from '../hooks/useNow';
import { useReader } from '../hooks/useReader';
import { useCanRead } from '../auth/identity';
import { useWorklistEvents } from '../hooks/useWorklistEvents';
import { errorMessage } from '../lib/errors';
import {
  formatAgeSex, formatDicomDate, formatDuration, formatModalities, formatPatientName, formatTat,
  reasonLines, waitingClass, waitingMs,
} from '../lib/format';
import { EMPTY_SELECTION, selectionReducer, worklistCommand } from '../lib/keyboard';
import {
  EMPTY_FILTERS, SORT_KEYS, hasFilters, searchToView, toInputDate, viewToSearch,
  type Filters, type ListView, type SortKey,
} from '../lib/query';
import { FOCUS_READER_EVENT } from '../lib/reader';
import { saveWorklistSearch } from '../lib/session';
import { Link, navigate, readPath, studyPath } from '../router';
import type { WorklistItem, WorklistPage as Page } from '../types';

type Message = { kind: 'error' | 'info'; text: string } | null;

const MODALITIES = ['', 'CT', 'MR', 'CR', 'DX', 'US', 'PT', 'NM', 'MG', 'XA'];
const BODY_PARTS = ['', 'HEAD', 'NECK', 'CHEST', 'ABDOMEN', 'PELVIS', 'SPINE', 'EXTREMITY'];
const PRIORITIES: [string, string][] = [['', 'any'], ['STAT', 'STAT'], ['STAT,HIGH', 'STAT + HIGH'],
  ['HIGH', 'HIGH'], ['ROUTINE', 'ROUTINE'], ['MEDIUM', 'MEDIUM'], ['LOW', 'LOW']];
const STATES: [string, string][] = [['', 'open (unread, in progress, prelim.)'], ['unread', 'unread'],
  ['in_progress', 'in progress'], ['preliminary', 'preliminary'], ['final', 'final'],
  ['cancelled', 'cancelled'], ['all', 'all']];
const AI_FLAGS: [string, string][] = [['', 'any or none'], ['critical', 'critical'], ['high', '≥ high'],
  ['moderate', '≥ moderate'], ['any', 'any finding'], ['none', 'no finding']];

export function WorklistPage({ search }: { search: string }) {
  const view = useMemo(() => searchToView(search), [search]);
  const reader = useReader();
  // Reading (claims, the reading view) is the radiologist's: hidden from other roles.
  const canRead = useCanRead();
  const now = useNow(10_000);
  const [page, setPage] = useState<Page | null>(null);
  const [clockOffset, setClockOffset] = useState(0);
  const [loadError, setLoadError] = useState('');
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const [sel, dispatch] = useReducer(selectionReducer, EMPTY_SELECTION);
  const seq = useRef(0);
  const patientInput = useRef<HTMLInputElement>(null);
  const rowRefs = useRef(new Map<string, HTMLTableRowElement>());

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const answer = await api.worklist(view);
      if (mine !== seq.current) return;
      setPage(answer);
      if (answer.now) setClockOffset(answer.now - Date.now());
      setLoadError('');
      dispatch({ type: 'rows', uids: answer.items.map((i) => i.study_uid) });
    } catch (e) {
      if (mine === seq.current) setLoadError(errorMessage(e));
    }
  }, [view]);

  useEffect(() => { void load(); }, [load]);
  useEffect(() => { saveWorklistSearch(search); }, [search]);
  const live = useWorklistEvents(() => { void load(); });

  const setView = (next: Partial<ListView>) => {
    const v: ListView = { ...view, page: 0, ...next };
    navigate(`/worklist${viewToSearch(v)}`, { replace: true });
  };
  const setFilter = (key: keyof Filters, value: string) => setView({ filters: { ...view.filters, [key]: value } });

  const items = page?.items ?? [];
  const byUid = useMemo(() => new Map(items.map((i) => [i.study_uid, i])), [items]);
  const selected = sel.selected ? byUid.get(sel.selected) ?? null : null;

  const needReader = () => {
    if (reader) return false;
    setMessage({ kind: 'error', text: 'Enter your reader name (top right) first.' });
    window.dispatchEvent(new Event(FOCUS_READER_EVENT));
    return true;
  };

  const act = async (what: 'claim' | 'release', item: WorklistItem | null) => {
    if (!item || busy || needReader()) return;
    setBusy(true);
    try {
      if (what === 'claim') {
        await api.claim(item.study_uid);
        setMessage({ kind: 'info', text: `Claimed ${formatPatientName(item.patient_name) || item.study_uid}.` });
      } else {
        await api.release(item.study_uid);
        setMessage({ kind: 'info', text: `Released ${formatPatientName(item.patient_name) || item.study_uid}.` });
      }
      await load();
    } catch (e) {
      setMessage({ kind: 'error', text: errorMessage(e, what) });
      void load();
    } finally {
      setBusy(false);
    }
  };

  const open = (item: WorklistItem | null) => {
    if (!item || needReader()) return;
    navigate(readPath(item.study_uid));
  };

  // Keyboard: the handler sees the latest state through a ref.
  const keyState = useRef({ selected, act, open });
  keyState.current = { selected, act, open };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const cmd = worklistCommand(e);
      if (!cmd) return;
      const { selected: item, act: doAct, open: doOpen } = keyState.current;
      e.preventDefault();
      switch (cmd) {
        case 'next': dispatch({ type: 'next' }); break;
        case 'prev': dispatch({ type: 'prev' }); break;
        case 'open': doOpen(item); break;
        case 'claim': void doAct('claim', item); break;
        case 'release': void doAct('release', item); break;
        case 'study': if (item) navigate(studyPath(item.study_uid)); break;
        case 'focusFilter': patientInput.current?.focus(); patientInput.current?.select(); break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (sel.selected) rowRefs.current.get(sel.selected)?.scrollIntoView?.({ block: 'nearest' });
  }, [sel.selected]);

  const total = page?.total ?? 0;
  const first = total ? view.page * view.pageSize + 1 : 0;
  const last = Math.min(total, view.page * view.pageSize + items.length);
  const f = view.filters;

  return (
    <div className="worklist">
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>Patient
          <input ref={patientInput} name="patient" data-testid="filter-patient" value={f.patient}
                 placeholder="ID or name…  (/)" size={14}
                 onChange={(e) => setFilter('patient', e.target.value)}
                 onKeyDown={(e) => { if (e.key === 'Escape' || e.key === 'Enter') e.currentTarget.blur(); }} />
        </label>
        <label>Modality
          <select name="modality" value={f.modality} onChange={(e) => setFilter('modality', e.target.value)}>
            {[...new Set([...MODALITIES, f.modality])].map((m) => <option key={m} value={m}>{m || 'any'}</option>)}
          </select>
        </label>
        <label>Body part
          <select name="body_part" value={f.body_part} onChange={(e) => setFilter('body_part', e.target.value)}>
            {[...new Set([...BODY_PARTS, f.body_part])].map((m) => <option key={m} value={m}>{m || 'any'}</option>)}
          </select>
        </label>
        <label>Order
          <select name="priority" value={f.priority} onChange={(e) => setFilter('priority', e.target.value)}>
            {withCurrent(PRIORITIES, f.priority).map(([v, t]) => <option key={v} value={v}>{t}</option>)}
          </select>
        </label>
        <label>State
          <select name="state" value={f.state} onChange={(e) => setFilter('state', e.target.value)}>
            {withCurrent(STATES, f.state).map(([v, t]) => <option key={v} value={v}>{t}</option>)}
          </select>
        </label>
        <label>AI
          <select name="ai_flag" value={f.ai_flag} onChange={(e) => setFilter('ai_flag', e.target.value)}>
            {withCurrent(AI_FLAGS, f.ai_flag).map(([v, t]) => <option key={v} value={v}>{t}</option>)}
          </select>
        </label>
        <label>From
          <input type="date" name="from" value={toInputDate(f.from)} onChange={(e) => setFilter('from', e.target.value)} />
        </label>
        <label>To
          <input type="date" name="to" value={toInputDate(f.to)} onChange={(e) => setFilter('to', e.target.value)} />
        </label>
        <label>Site
          <input name="site" value={f.site} size={10} placeholder="prefix"
                 onChange={(e) => setFilter('site', e.target.value)}
                 onKeyDown={(e) => { if (e.key === 'Escape' || e.key === 'Enter') e.currentTarget.blur(); }} />
        </label>
        <label>Sort
          <select name="sort" value={view.sort} onChange={(e) => setView({ sort: e.target.value as SortKey })}>
            {SORT_KEYS.map((k) => <option key={k} value={k}>{k.replace('_', ' ')}</option>)}
          </select>
        </label>
        {hasFilters(f) && (
          <button type="button" className="link" onClick={() => setView({ filters: EMPTY_FILTERS })}>clear</button>
        )}
      </form>

      <div className="toolbar">
        <span className="sel-label">
          {selected
            ? <>Selected: <b>{formatPatientName(selected.patient_name) || selected.patient_id}</b> {selected.study_description}</>
            : <span className="muted">No study selected</span>}
        </span>
        {canRead && <>
          <button type="button" disabled={!selected} onClick={() => open(selected)} data-testid="action-read">Read <kbd>Enter</kbd></button>
          <button type="button" disabled={!selected || busy} onClick={() => void act('claim', selected)} data-testid="action-claim">Claim <kbd>c</kbd></button>
          <button type="button" disabled={!selected || busy} onClick={() => void act('release', selected)} data-testid="action-release">Release <kbd>r</kbd></button>
        </>}
        <button type="button" disabled={!selected} onClick={() => selected && navigate(studyPath(selected.study_uid))} data-testid="action-study">Study <kbd>s</kbd></button>
        <span className="spacer" />
        <span className={`live live-${live}`} data-testid="live" title="live updates (server-sent events)">● {live}</span>
        <span className="count" data-testid="count">{total ? `${first}–${last} of ${total}` : '0 studies'}</span>
        <button type="button" disabled={view.page === 0} onClick={() => setView({ page: view.page - 1 })}>‹ prev</button>
        <button type="button" disabled={last >= total} onClick={() => setView({ page: view.page + 1 })}>next ›</button>
      </div>

      {message && (
        <div className={`message message-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message">
          {message.text}
          <button type="button" className="link" onClick={() => setMessage(null)} aria-label="dismiss">×</button>
        </div>
      )}
      {loadError && <div className="message message-error" role="alert">{loadError}</div>}

      <table className="grid worklist-table" data-testid="worklist">
        <thead>
          <tr>
            <th title="priority score">Prio</th>
            <th>Why</th>
            <th>Patient</th>
            <th>ID</th>
            <th>Age/Sex</th>
            <th>Mod</th>
            <th>Body</th>
            <th>Description</th>
            <th>Date</th>
            <th>Site</th>
            <th>Order</th>
            <th>State</th>
            <th>Reader</th>
            <th>Waiting</th>
            <th>TAT</th>
            <th>AI</th>
          </tr>
        </thead>
        <tbody>
          {items.map((it) => {
            const wait = waitingMs(it, now, clockOffset);
            const reasons = reasonLines(it.priority_reasons);
            const classes = [
              it.ai_flag === 'critical' ? 'critical' : '',
              it.order_priority === 'STAT' ? 'stat' : '',
              it.study_uid === sel.selected ? 'selected' : '',
              it.reader && it.reader !== reader ? 'held' : '',
              it.reader && it.reader === reader ? 'mine' : '',
              `row-${it.state}`,
            ].filter(Boolean).join(' ');
            return (
              <tr key={it.study_uid}
                  ref={(el) => { if (el) rowRefs.current.set(it.study_uid, el); else rowRefs.current.delete(it.study_uid); }}
                  className={classes} data-study-uid={it.study_uid} data-state={it.state}
                  aria-selected={it.study_uid === sel.selected}
                  onClick={() => dispatch({ type: 'select', uid: it.study_uid })}
                  onDoubleClick={() => open(it)}>
                <td className="c-prio"><PriorityBadge score={it.priority_score} aiFlag={it.ai_flag} order={it.order_priority} /></td>
                <td className="c-reasons" title={reasons.join('\n')}>{reasons.join(' · ')}</td>
                <td className="c-name">
                  <Link to={studyPath(it.study_uid)} onClick={(e) => e.stopPropagation()}>{formatPatientName(it.patient_name) || '(no name)'}</Link>
                </td>
                <td className="c-id">{it.patient_id}</td>
                <td className="c-age">{formatAgeSex(it.birth_date, it.sex, it.study_date)}</td>
                <td className="c-mod">{formatModalities(it.modalities)}</td>
                <td className="c-body">{it.body_part}</td>
                <td className="c-desc" title={it.study_description}>{it.study_description}</td>
                <td className="c-date">{formatDicomDate(it.study_date)}</td>
                <td className="c-site" title={it.site}>{it.site}</td>
                <td className="c-order"><OrderBadge order={it.order_priority} /></td>
                <td className="c-state"><StateBadge state={it.state} /></td>
                <td className="c-reader">{it.reader}</td>
                <td className={`c-wait num ${waitingClass(it.read_started_at ? 0 : wait)}`}>{formatDuration(wait)}</td>
                <td className="c-tat num">{formatTat(it.tat_ms)}</td>
                <td className="c-ai"><AiBadge flag={it.ai_flag} pending={it.ai_pending} /></td>
              </tr>
            );
          })}
          {page && !items.length && (
            <tr><td colSpan={16} className="empty">No studies{hasFilters(f) ? ' match these filters' : ' to read'}.</td></tr>
          )}
          {!page && !loadError && <tr><td colSpan={16} className="empty">Loading…</td></tr>}
        </tbody>
      </table>
      <p className="hints muted">
        <kbd>j</kbd>/<kbd>k</kbd> or <kbd>↓</kbd>/<kbd>↑</kbd> select · <kbd>Enter</kbd>/<kbd>o</kbd> read · <kbd>c</kbd> claim ·
        {' '}<kbd>r</kbd> release · <kbd>s</kbd> study page · <kbd>/</kbd> patient filter
      </p>
    </div>
  );
}

function withCurrent(options: [string, string][], current: string): [string, string][] {
  return options.some(([v]) => v === current) ? options : [...options, [current, current]];
}
