// The report editor of the reading view (docs/report-editor.md): the study's template (its
// sections, typed fields and free text), pre-filled by the server from the AI findings; the AI
// proposals to accept, edit or reject; autosave as a draft; the QA checks with links into the
// report; signing (preliminary/final) and, once signed, the report's SR, FHIR resource and
// delivery, and the addendum. Keyboard: ./shortcuts.ts.
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  reportApi, type Decision, type DecisionKind, type DecisionRequest, type Proposal, type QaIssue, type Report,
  type ReportDetail, type ReportTemplate, type TemplateSummary,
} from '../../api/report';
import { debounce } from '../../lib/debounce';
import { ApiError, errorMessage } from '../../lib/errors';
import { formatTimestamp } from '../../lib/format';
import { SimilarCases } from '../similar/SimilarCases';
import {
  applyDecision, aiProposedFields, clearLocal, fieldDefaults, findField, hasSimilarCases, issueRange,
  fieldText, sectionHasFreeText, textPlaces, type Doc, type TextKey,
} from './draft';
import { FieldInput, fieldDomId } from './FieldInput';
import { ProposalList, proposalDomId, type DecideExtra, type Pending } from './Proposals';
import { QaPanel } from './QaPanel';
import { ReportBody, SignedSummary, StatusBadge, signedLine } from './ReportView';
import { SHORTCUTS, reportCommand } from './shortcuts';
import { SignDialog, type SignStatus } from './SignDialog';
import { useDraft, type Notice, type SaveStatus } from './useDraft';

type Phase = 'loading' | 'error' | 'none' | 'draft' | 'signed';

export interface ReportEditorProps {
  studyUid: string;
  /** The reader may write the report (holds the claim, or just had it). */
  canEdit: boolean;
  reader: string;
  onSigned?: (report: Report) => void;
  /** Changes when new AI results of the study arrived: the proposals are fetched again. */
  aiTick?: number;
  /** Autosave delay (tests). */
  autosaveMs?: number;
}

const TEXT_LABEL: Record<TextKey, string> = { findings_text: 'Findings', impression_text: 'Impression' };
const CRITICAL_ID = 'rf-critical-communicated';
const sectionDomId = (id: string) => `rs-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function SaveIndicator({ status, revision }: { status: SaveStatus; revision: number }) {
  const text = status.state === 'saving' ? 'saving…'
    : status.state === 'dirty' ? 'unsaved changes'
    : status.state === 'offline' ? `not saved (${status.error}) — kept in this browser, retrying`
    : status.savedAt ? `saved ${formatTimestamp(status.savedAt)}` : 'saved';
  return (
    <span className={`save-state save-${status.state}`} data-testid="save-state" data-state={status.state}
          title={`draft revision ${revision}`}>
      {text}
    </span>
  );
}

/** Selects [start, end) of a textarea and scrolls it into view. */
function selectInTextarea(ta: HTMLTextAreaElement, start: number, end: number) {
  ta.focus();
  ta.setSelectionRange(start, end);
  const lines = ta.value.slice(0, start).split('\n').length - 1;
  const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 16;
  ta.scrollTop = Math.max(0, lines * lineHeight - ta.clientHeight / 3);
  ta.scrollIntoView?.({ block: 'nearest' });
}

export function ReportEditor({ studyUid, canEdit, reader, onSigned, aiTick = 0, autosaveMs }: ReportEditorProps) {
  const [phase, setPhase] = useState<Phase>('loading');
  const [loadError, setLoadError] = useState('');
  const [report, setReport] = useState<Report | null>(null);
  const [others, setOthers] = useState<Report[]>([]);
  const [template, setTemplate] = useState<ReportTemplate | null>(null);
  const [rule, setRule] = useState('');
  const [templates, setTemplates] = useState<TemplateSummary[]>([]);
  const [proposals, setProposals] = useState<Proposal[]>([]);
  const [issues, setIssues] = useState<QaIssue[] | null>(null);
  const [qaError, setQaError] = useState('');
  const [checking, setChecking] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [focusedId, setFocusedId] = useState<number | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [busyId, setBusyId] = useState<number | null>(null);
  const [signing, setSigning] = useState<{ status: SignStatus; allowPreliminary: boolean } | null>(null);
  const [signBusy, setSignBusy] = useState(false);
  const [signError, setSignError] = useState('');
  const texts = useRef<Partial<Record<TextKey, HTMLTextAreaElement | null>>>({});
  const reportRef = useRef<Report | null>(null);
  reportRef.current = report;
  const qaSeq = useRef(0);

  const runQa = useCallback(async (): Promise<QaIssue[] | null> => {
    const r = reportRef.current;
    if (!r) return null;
    const mine = ++qaSeq.current;
    setChecking(true);
    try {
      const list = await reportApi.qa(r.id);
      if (mine === qaSeq.current) { setIssues(list); setQaError(''); }
      return list;
    } catch (e) {
      if (mine === qaSeq.current) setQaError(`QA: ${errorMessage(e)}`);
      return null;
    } finally {
      if (mine === qaSeq.current) setChecking(false);
    }
  }, []);
  const qaLater = useRef(debounce(() => { void runQa(); }, 300));
  useEffect(() => () => qaLater.current.cancel(), []);

  const onReloaded = useCallback((d: ReportDetail) => {
    setReport(d);
    if (Array.isArray(d.proposals)) setProposals(d.proposals);
    if (Array.isArray(d.qa)) setIssues(d.qa);
    if (d.status !== 'draft') setPhase('signed');
  }, []);
  const draft = useDraft({ onReloaded, onSaved: () => qaLater.current.trigger(), notify: setNotice, delayMs: autosaveMs });
  const { doc } = draft;

  /** Opens report `id` (draft: editing; otherwise read-only). */
  const openReport = useCallback(async (id: number, choice: ReportTemplate | null) => {
    const detail = await reportApi.get(id);
    let t = choice;
    if (detail.template_id && detail.template_id !== choice?.id) {
      t = await reportApi.template(detail.template_id).catch(() => choice);
    }
    setTemplate(t);
    setReport(detail);
    setProposals(detail.proposals ?? []);
    setIssues(detail.qa ?? null);
    setFocusedId((detail.proposals ?? []).find((p) => !p.decision)?.finding_id ?? detail.proposals?.[0]?.finding_id ?? null);
    if (detail.status === 'draft' && canEdit) {
      const restored = draft.open(detail);
      setNotice(restored ? { kind: 'info', text: 'Your unsaved changes from this browser were put back (newer than the server\'s draft); saving them.' } : null);
      setPhase('draft');
    } else {
      draft.close();
      setPhase(detail.status === 'draft' ? 'draft' : 'signed');
    }
    return detail;
  }, [canEdit]);

  // Loading: the study's reports; its open draft, else the newest signed report; none and
  // allowed to write: a new draft, pre-filled by the server.
  useEffect(() => {
    let cancelled = false;
    setPhase('loading');
    setNotice(null);
    (async () => {
      try {
        const [reports, choice] = await Promise.all([
          reportApi.studyReports(studyUid),
          reportApi.studyTemplate(studyUid).catch(() => null),
        ]);
        if (cancelled) return;
        setRule(choice?.rule ?? '');
        reportApi.templates().then((l) => { if (!cancelled) setTemplates(l?.templates ?? []); }).catch(() => {});
        const own = reports.filter((r) => !r.origin || r.origin === 'radflow');
        let current = own.find((r) => r.status === 'draft' && !r.superseded) ?? own.find((r) => !r.superseded) ?? own[0] ?? null;
        if (!current && canEdit) current = await reportApi.createDraft(studyUid);
        if (cancelled) return;
        setOthers(reports.filter((r) => r.id !== current?.id));
        if (!current) {
          setTemplate(choice?.template ?? null);
          setReport(null);
          setPhase('none');
          return;
        }
        await openReport(current.id, choice?.template ?? null);
      } catch (e) {
        if (cancelled) return;
        setLoadError(e instanceof ApiError && e.status === 404 ? `Reports are not available here (${e.message}).` : errorMessage(e));
        setPhase('error');
      }
    })();
    return () => { cancelled = true; };
  }, [studyUid, canEdit]);

  const editing = phase === 'draft' && canEdit && draft.status.state !== 'readonly';

  // A signed report is read from its top (the pane may have been scrolled down to sign).
  const root = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    if (phase !== 'signed') return;
    const pane = root.current?.closest('.report-pane');
    if (pane) pane.scrollTop = 0;
  }, [phase, report?.id]);

  // New AI results while the report is open: their proposals join the list (the fields are
  // pre-filled only when a draft is created; the new proposals' values come with Accept).
  useEffect(() => {
    if (!aiTick || !reportRef.current) return undefined;
    let cancelled = false;
    reportApi.proposals(studyUid).then((list) => { if (!cancelled) setProposals(list); }).catch(() => {});
    return () => { cancelled = true; };
  }, [aiTick, studyUid]);

  // --- decisions ---------------------------------------------------------------------------

  const focusProposal = (id: number) => {
    setFocusedId(id);
    const el = document.getElementById(proposalDomId(id));
    el?.focus();
    el?.scrollIntoView?.({ block: 'nearest' });
  };

  const move = (dir: 1 | -1) => {
    if (!proposals.length) return;
    const i = proposals.findIndex((p) => p.finding_id === focusedId);
    const j = i < 0 ? 0 : Math.min(Math.max(i + dir, 0), proposals.length - 1);
    focusProposal(proposals[j].finding_id);
  };

  const decide = async (p: Proposal, kind: DecisionKind, extra: DecideExtra = {}) => {
    setBusyId(p.finding_id);
    try {
      // The study names the finding for the server also when it came from an SR (negative id).
      const body: DecisionRequest = { decision: kind, study_uid: studyUid };
      if (kind === 'rejected' && extra.reason) body.reason = extra.reason;
      if (kind === 'edited') {
        body.sentence = extra.sentence || p.sentence;
        body.values = { ...p.values, ...(extra.values ?? {}) };
      }
      const dec = await reportApi.decide(p.finding_id, body);
      const base: Decision = {
        id: 0, finding_id: p.finding_id, study_uid: studyUid, app_id: p.app_id, app_version: p.app_version,
        decision: kind, reason: body.reason ?? '', values: {}, sentence: '', reader, at: Date.now(),
      };
      const decision: Decision = {
        ...base, ...(dec ?? {}),
        decision: kind,
        sentence: dec?.sentence || body.sentence || (kind === 'rejected' ? '' : p.sentence),
        values: dec?.values && Object.keys(dec.values).length ? dec.values : body.values ?? (kind === 'rejected' ? {} : p.values),
      };
      const others = proposals.filter((x) => x.finding_id !== p.finding_id);
      setProposals((ps) => ps.map((x) => (x.finding_id === p.finding_id ? { ...x, decision } : x)));
      draft.change((d) => applyDecision(d, template, p, kind, extra, proposals));
      const next = others.find((x) => !x.decision);
      if (next) focusProposal(next.finding_id);
      await draft.saveNow();
    } catch (e) {
      setNotice({ kind: 'error', text: `The decision was not recorded: ${errorMessage(e)}` });
    } finally {
      setBusyId(null);
    }
  };

  const current = (): Proposal | null => {
    const active = document.activeElement?.closest?.('[data-testid="proposal"]') as HTMLElement | null;
    const id = active ? Number(active.dataset.findingId) : focusedId;
    return proposals.find((p) => p.finding_id === id) ?? proposals.find((p) => !p.decision) ?? null;
  };

  // --- QA links ----------------------------------------------------------------------------

  const textArea = (field: string): HTMLTextAreaElement | null =>
    field === 'findings_text' || field === 'impression_text'
      ? texts.current[field as TextKey] ?? null
      : (document.getElementById(sectionDomId(field)) as HTMLTextAreaElement | null);

  const showSentence = (i: QaIssue) => {
    const ta = textArea(i.field);
    if (!ta) { showField(i); return; }
    const range = issueRange(ta.value, i.offset, i.length);
    if (range) selectInTextarea(ta, range[0], range[1]);
    else ta.focus();
  };
  const showField = (i: QaIssue) => {
    const id = i.field === 'critical_communicated' ? CRITICAL_ID : fieldDomId(i.field);
    const el = document.getElementById(id) as HTMLElement | null;
    const target = el?.matches('input, select, textarea') ? el : el?.querySelector<HTMLElement>('input, select, textarea') ?? el;
    target?.focus();
    target?.scrollIntoView?.({ block: 'nearest' });
  };

  const checkNow = async (focusFirst: boolean) => {
    await draft.saveNow();
    qaLater.current.cancel();  // the save's own re-check: this one is it
    const list = await runQa();
    if (focusFirst && list?.length) {
      const first = document.querySelector<HTMLElement>('[data-testid="qa-issue"] button');
      first?.focus();
    }
  };

  // --- signing -----------------------------------------------------------------------------

  const openSign = async (status: SignStatus = 'final', allowPreliminary = true) => {
    if (!reportRef.current) return;
    setSignError('');
    if (phase === 'draft') {
      const saved = await draft.saveNow();
      if (!saved) {
        setNotice({ kind: 'error', text: 'The draft is not saved yet: it cannot be signed until it is.' });
        return;
      }
    }
    await runQa();
    setSigning({ status, allowPreliminary });
  };

  const sign = async (status: SignStatus, acknowledged: string[]) => {
    const r = reportRef.current;
    if (!r) return;
    setSignBusy(true);
    setSignError('');
    try {
      const signed = await reportApi.sign(r.id, { status, acknowledged });
      clearLocal(r.id);
      draft.close();
      setSigning(null);
      setReport(signed);
      setPhase('signed');
      setNotice({ kind: 'info', text: `Signed ${signed.status ?? status}${signed.signed_by ? ` by ${signed.signed_by}` : ''}.` });
      onSigned?.(signed);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        await runQa();
        setSignError(`Not signed: ${e.message}. Acknowledge the QA errors listed above.`);
      } else {
        setSignError(`Not signed: ${errorMessage(e)}`);
      }
    } finally {
      setSignBusy(false);
    }
  };

  const addendum = async () => {
    const r = reportRef.current;
    if (!r) return;
    try {
      const next = await reportApi.addendum(r.id);
      setOthers((o) => [r, ...o.filter((x) => x.id !== r.id)]);
      await openReport(next.id, template);
      setNotice({ kind: 'info', text: `Addendum: version ${next.version}, a copy of the signed report. Edit it and sign it; the signed version stays.` });
    } catch (e) {
      setNotice({ kind: 'error', text: `No addendum: ${errorMessage(e)}` });
    }
  };

  const switchTemplate = async (id: string) => {
    if (!id || id === template?.id) return;
    try {
      const t = await reportApi.template(id);
      setTemplate(t);
      draft.change((d) => ({ ...d, template_id: t.id, fields: { ...fieldDefaults(t), ...d.fields } }));
    } catch (e) {
      setNotice({ kind: 'error', text: `Template ${id}: ${errorMessage(e)}` });
    }
  };

  // --- keys --------------------------------------------------------------------------------

  const keys = useRef({ decide, current, move, checkNow, openSign, setPending, editing, signing, phase, pending });
  keys.current = { decide, current, move, checkNow, openSign, setPending, editing, signing, phase, pending };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const cmd = reportCommand(e);
      const k = keys.current;
      if (!cmd || k.signing) return;
      if (cmd === 'sign') {
        if (k.phase === 'draft' && k.editing) { e.preventDefault(); void k.openSign(); }
        return;
      }
      if (!k.editing) return;
      e.preventDefault();
      const onProposal = cmd === 'accept' || cmd === 'reject' || cmd === 'edit';
      // Typing a reason or an edit: Enter / Escape act there.
      if (onProposal && document.activeElement?.closest?.('.proposal-form')) return;
      if (onProposal && k.pending) k.setPending(null);
      const p = onProposal ? k.current() : null;
      switch (cmd) {
        case 'save': void draftRef.current.saveNow(); break;
        case 'accept': if (p && p.decision?.decision !== 'accepted') void k.decide(p, 'accepted'); break;
        case 'reject': if (p) { focusProposal(p.finding_id); k.setPending({ id: p.finding_id, kind: 'reject' }); } break;
        case 'edit': if (p) { focusProposal(p.finding_id); k.setPending({ id: p.finding_id, kind: 'edit' }); } break;
        case 'nextProposal': k.move(1); break;
        case 'prevProposal': k.move(-1); break;
        case 'qa': void k.checkNow(true); break;
        case 'findings': case 'impression': {
          const key: TextKey = cmd === 'findings' ? 'findings_text' : 'impression_text';
          texts.current[key]?.focus();
          break;
        }
        default: break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const draftRef = useRef(draft);
  draftRef.current = draft;

  // --- rendering ---------------------------------------------------------------------------

  if (phase === 'loading') return <div className="report-editor" data-testid="report-editor" data-phase={phase}><p className="muted">Report: loading…</p></div>;
  if (phase === 'error') {
    return (
      <div className="report-editor" data-testid="report-editor" data-phase={phase}>
        <h3>Report</h3>
        <p className="muted" data-testid="report-error">{loadError}</p>
      </div>
    );
  }

  const noticeBox = notice && (
    <div className={`message message-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="report-notice">
      <span>{notice.text}</span>
      {draft.conflict && (
        <span>
          <button type="button" onClick={draft.keepMine} data-testid="keep-mine">Keep mine</button>
          <button type="button" className="link" onClick={draft.dropConflict}>dismiss</button>
        </span>
      )}
      {!draft.conflict && <button type="button" className="link" onClick={() => setNotice(null)} aria-label="dismiss">×</button>}
    </div>
  );

  const earlier = others.length > 0 && (
    <details className="report-history">
      <summary>{others.length} other report{others.length === 1 ? '' : 's'} of this study</summary>
      {others.map((r) => (
        <div key={r.id} className="report-history-item">
          <div className="report-subhead"><StatusBadge status={r.status} superseded={r.superseded} /><span className="muted small">{signedLine(r)}</span></div>
          <ReportBody report={r} template={r.template_id === template?.id ? template : null} />
        </div>
      ))}
    </details>
  );

  const header = (
    <div className="report-head">
      <h3>Report</h3>
      {report && <StatusBadge status={report.status} superseded={report.superseded} />}
      {report && report.version > 1 && <span className="muted small">v{report.version}</span>}
      <span className="spacer" />
      {phase === 'draft' && editing && <SaveIndicator status={draft.status} revision={draft.revision} />}
    </div>
  );

  if (phase === 'none') {
    return (
      <div className="report-editor" data-testid="report-editor" data-phase={phase}>
        {header}
        <p className="muted">No report yet{canEdit ? '' : ' — claim the study to write one'}.</p>
        {earlier}
      </div>
    );
  }

  if (phase === 'signed' && report) {
    const canAddendum = canEdit && !report.superseded && report.origin === 'radflow';
    return (
      <div ref={root} className="report-editor" data-testid="report-editor" data-phase={phase}>
        {header}
        {noticeBox}
        <SignedSummary report={report} />
        {canAddendum && (
          <div className="actions">
            {report.status === 'preliminary' && (
              <button type="button" className="primary" onClick={() => void openSign('final', false)} data-testid="sign-final-now">Sign final…</button>
            )}
            <button type="button" onClick={() => void addendum()} data-testid="addendum">Addendum</button>
          </div>
        )}
        <ReportBody report={report} template={template} />
        {earlier}
        {signing && (
          <SignDialog issues={issues ?? []} reader={reader} initialStatus={signing.status}
                      allowPreliminary={signing.allowPreliminary} busy={signBusy} error={signError}
                      onSign={(s, a) => void sign(s, a)} onCancel={() => setSigning(null)} />
        )}
      </div>
    );
  }

  // A draft, read-only (someone else's claim): what it says now.
  if (!editing && report) {
    return (
      <div className="report-editor" data-testid="report-editor" data-phase={phase}>
        {header}
        <p className="muted small">Draft{report.author ? ` by ${report.author}` : ''}, not signed. Claim the study to edit it.</p>
        <ReportBody report={report} template={template} />
        {earlier}
      </div>
    );
  }

  const proposedBy = aiProposedFields(template, doc.fields, proposals);
  const places = textPlaces(template);
  const focused = proposals.find((p) => p.finding_id === focusedId) ?? null;
  const setText = (key: TextKey, v: string) => draft.change((d) => ({ ...d, [key]: v }));
  const textArea_ = (key: TextKey, rows: number) => (
    <textarea ref={(el) => { texts.current[key] = el; }} id={`rt-${key}`} rows={rows} value={doc[key]}
              data-testid={`text-${key}`} aria-label={TEXT_LABEL[key]}
              onChange={(e) => setText(key, e.target.value)} />
  );

  return (
    <div className="report-editor" data-testid="report-editor" data-phase={phase}>
      {header}
      <div className="report-template muted small" title={rule ? `chosen by the rule: ${rule}` : undefined}>
        Template{' '}
        {templates.length > 1 ? (
          <select aria-label="Report template" value={template?.id ?? ''} onChange={(e) => void switchTemplate(e.target.value)}
                  data-testid="template-select">
            {!template && <option value="">—</option>}
            {templates.map((t) => <option key={t.id} value={t.id}>{t.title || t.id}</option>)}
          </select>
        ) : <b data-testid="template-title">{template?.title || template?.id || 'none'}</b>}
        {rule && <span className="report-rule" data-testid="template-rule"> · {rule}</span>}
      </div>
      {noticeBox}

      <section className="report-block" aria-label="AI proposals">
        <div className="report-subhead"><h3>AI proposals</h3></div>
        <ProposalList proposals={proposals} template={template} focusedId={focusedId} onFocus={setFocusedId}
                      pending={pending} setPending={setPending} onDecide={(p, k, x) => void decide(p, k, x)}
                      busyId={busyId} readOnly={false} onMove={move} />
        {hasSimilarCases(focused) && <SimilarCases key={focused!.finding_id} findingId={focused!.finding_id} />}
      </section>

      <form className="report-form" onSubmit={(e) => e.preventDefault()} aria-label="Report">
        {(template?.sections ?? []).map((s) => (
          <fieldset key={s.id} className="report-section" data-section-id={s.id}>
            <legend>{s.title || s.id}</legend>
            {s.fields.map((f) => {
              const key = fieldText(f);
              if (key) {
                return (
                  <div key={f.id} className="rf rf-report-text">
                    {f.label && f.label.toLowerCase() !== (s.title || '').toLowerCase() && <label htmlFor={`rt-${key}`} className="rf-label">{f.label}</label>}
                    {textArea_(key, key === 'findings_text' ? 7 : 4)}
                  </div>
                );
              }
              return (
                <FieldInput key={f.id} field={f} value={doc.fields[f.id]} proposedBy={proposedBy.get(f.id) ?? null}
                            onChange={(v) => draft.change((d) => ({ ...d, fields: { ...d.fields, [f.id]: v } }))} />
              );
            })}
            {(places.section.get(s.id) ?? []).map((key) => <div key={key}>{textArea_(key, key === 'findings_text' ? 7 : 4)}</div>)}
            {sectionHasFreeText(s, places) && (
              <textarea id={sectionDomId(s.id)} rows={1} value={doc.sections[s.id] ?? ''} aria-label={`${s.title || s.id}: free text`}
                        placeholder="free text" data-testid={`section-text-${s.id}`} className="section-free-text"
                        onChange={(e) => { const v = e.target.value; draft.change((d) => ({ ...d, sections: { ...d.sections, [s.id]: v } })); }} />
            )}
          </fieldset>
        ))}
        {places.missing.map((key) => (
          <fieldset key={key} className="report-section">
            <legend>{TEXT_LABEL[key]}</legend>
            {textArea_(key, key === 'findings_text' ? 7 : 4)}
          </fieldset>
        ))}
        <label className="report-critical" htmlFor={CRITICAL_ID}>
          <span className="rf-label">Critical result communicated</span>
          <input id={CRITICAL_ID} type="text" value={doc.critical_communicated} data-testid="critical-communicated"
                 placeholder="e.g. discussed with Dr X at 14:05"
                 onChange={(e) => { const v = e.target.value; draft.change((d: Doc) => ({ ...d, critical_communicated: v })); }} />
        </label>
      </form>

      <QaPanel issues={issues} error={qaError} checking={checking} onCheck={() => void checkNow(true)}
               onFinding={(i) => i.finding_id && focusProposal(i.finding_id)} onSentence={showSentence} onField={showField}
               fieldLabel={(id) => findField(template, id)?.label ?? id} />

      <div className="actions report-actions">
        <button type="button" onClick={() => void draft.saveNow()} data-testid="save-now">Save <kbd>Ctrl+S</kbd></button>
        <button type="button" className="primary" onClick={() => void openSign()} data-testid="open-sign">Sign… <kbd>Ctrl+Enter</kbd></button>
      </div>
      {earlier}
      <details className="report-keys">
        <summary>Keyboard</summary>
        <dl>{SHORTCUTS.map(([k, what]) => <div key={k}><dt><kbd>{k}</kbd></dt><dd>{what}</dd></div>)}</dl>
      </details>

      {signing && (
        <SignDialog issues={issues ?? []} reader={reader} initialStatus={signing.status}
                    allowPreliminary={signing.allowPreliminary} busy={signBusy} error={signError}
                    onSign={(s, a) => void sign(s, a)} onCancel={() => setSigning(null)} />
      )}
    </div>
  );
}
