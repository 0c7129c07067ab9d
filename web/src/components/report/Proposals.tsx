// The AI proposals of the study: one card per finding with its app and version, the proposed
// sentence and field values, "AI-proposed" until the radiologist accepts, edits or rejects it
// (one action each; a rejection may give a reason; an edit changes the sentence and values).
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { DecisionKind, Proposal, ReportTemplate } from '../../api/report';
import { formatMeasure, formatTimestamp } from '../../lib/format';
import { SeverityBadge } from '../Badges';
import { appName, decidedSentence, findField } from './draft';

export interface Pending { id: number; kind: 'reject' | 'edit' }

export interface DecideExtra { reason?: string; values?: Record<string, string>; sentence?: string }

interface ListProps {
  proposals: Proposal[];
  template: ReportTemplate | null;
  focusedId: number | null;
  onFocus: (id: number) => void;
  pending: Pending | null;
  setPending: (p: Pending | null) => void;
  onDecide: (p: Proposal, kind: DecisionKind, extra?: DecideExtra) => void;
  busyId: number | null;
  readOnly: boolean;
  onMove: (dir: 1 | -1) => void;
}

export const proposalDomId = (findingId: number) => `proposal-${findingId}`;

const KIND: Record<string, string> = {
  lung_nodule: 'lung nodule', emphysema: 'emphysema', haemorrhage: 'haemorrhage',
  image_quality: 'image quality', other: 'finding',
};

function decisionText(p: Proposal): string {
  const d = p.decision;
  if (!d) return '';
  const who = [d.reader && `by ${d.reader}`, d.at ? formatTimestamp(d.at) : ''].filter(Boolean).join(' ');
  return `${d.decision}${who ? ` ${who}` : ''}`;
}

function ValueList({ values, template }: { values: Record<string, string>; template: ReportTemplate | null }) {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return null;
  return (
    <dl className="proposal-values">
      {entries.map(([k, v]) => {
        const f = findField(template, k);
        const opt = f?.options.find((o) => o.value === v);
        return (
          <div key={k}>
            <dt>{f?.label || k}</dt>
            <dd title={opt?.label || v}>{opt?.label || v}{f?.unit && v && f.type === 'number' ? ` ${f.unit}` : ''}</dd>
          </div>
        );
      })}
    </dl>
  );
}

function priorText(p: Proposal): string {
  const c = p.prior;
  if (!c) return '';
  if (c.status === 'new') return 'new since the prior';
  const parts = [c.trend && c.trend !== 'unknown' ? c.trend : ''];
  if (typeof c.volume_change_pct === 'number') parts.push(`${c.volume_change_pct > 0 ? '+' : ''}${Math.round(c.volume_change_pct)} % volume`);
  if (typeof c.doubling_time_days === 'number' && c.doubling_time_days > 0) parts.push(`doubling ${Math.round(c.doubling_time_days)} d`);
  if (typeof c.interval_days === 'number' && c.interval_days > 0) parts.push(`over ${Math.round(c.interval_days)} d`);
  return parts.filter(Boolean).join(', ');
}

function RejectForm({ onReject, onCancel }: { onReject: (reason: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <div className="proposal-form" data-testid="reject-form">
      <input ref={input} type="text" value={reason} placeholder="reason (optional), Enter to reject"
             aria-label="Reason for rejecting" data-testid="reject-reason"
             onChange={(e) => setReason(e.target.value)}
             onKeyDown={(e) => {
               if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey) { e.preventDefault(); onReject(reason.trim()); }
               if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); onCancel(); }
             }} />
      <button type="button" onClick={() => onReject(reason.trim())} data-testid="reject-confirm">Reject</button>
      <button type="button" className="link" onClick={onCancel}>cancel</button>
    </div>
  );
}

function EditForm({ proposal, template, onSave, onCancel }: {
  proposal: Proposal; template: ReportTemplate | null;
  onSave: (sentence: string, values: Record<string, string>) => void; onCancel: () => void;
}) {
  const start = proposal.decision && proposal.decision.decision !== 'rejected' ? proposal.decision : null;
  const [sentence, setSentence] = useState(start?.sentence || proposal.sentence);
  const [values, setValues] = useState<Record<string, string>>({ ...proposal.values, ...(start?.values ?? {}) });
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => { area.current?.focus(); area.current?.select(); }, []);
  const submit = () => onSave(sentence.trim(), values);
  const keys = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.metaKey) { e.preventDefault(); submit(); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); onCancel(); }
  };
  return (
    <div className="proposal-form proposal-edit" data-testid="edit-form">
      <textarea ref={area} rows={3} value={sentence} aria-label="Sentence" data-testid="edit-sentence"
                onChange={(e) => setSentence(e.target.value)} onKeyDown={keys} />
      {Object.keys(values).map((k) => {
        const f = findField(template, k);
        return (
          <label key={k} className="inline">
            <span className="rf-label">{f?.label || k}</span>
            {f && (f.type === 'select' || f.type === 'code') && f.options.length ? (
              <select value={values[k]} onChange={(e) => setValues({ ...values, [k]: e.target.value })} onKeyDown={keys}>
                <option value="">—</option>
                {f.options.map((o) => <option key={o.value} value={o.value}>{o.label || o.value}</option>)}
              </select>
            ) : (
              <input type={f?.type === 'number' ? 'number' : 'text'} step="any" value={values[k]}
                     onChange={(e) => setValues({ ...values, [k]: e.target.value })} onKeyDown={keys} />
            )}
            {f?.unit && <span className="rf-unit">{f.unit}</span>}
          </label>
        );
      })}
      <div className="actions">
        <button type="button" className="primary" onClick={submit} data-testid="edit-save">Save edit <kbd>Enter</kbd></button>
        <button type="button" className="link" onClick={onCancel}>cancel <kbd>Esc</kbd></button>
      </div>
    </div>
  );
}

function ProposalCard({ p, template, focused, onFocus, pending, setPending, onDecide, busy, readOnly, onMove }: {
  p: Proposal; template: ReportTemplate | null; focused: boolean; onFocus: () => void;
  pending: Pending | null; setPending: (x: Pending | null) => void;
  onDecide: ListProps['onDecide']; busy: boolean; readOnly: boolean; onMove: (dir: 1 | -1) => void;
}) {
  const [changing, setChanging] = useState(false);
  const undecided = !p.decision;
  const mine = pending?.id === p.finding_id ? pending.kind : null;
  const sentence = decidedSentence(p) || p.sentence;
  const measures = (p.measurements ?? []).map((m) => `${m.name} ${formatMeasure(m.value, 2)}${m.unit ? ` ${m.unit}` : ''}`).join(' · ');
  const where = [p.laterality, p.site].filter(Boolean).join(' · ');
  const trend = priorText(p);
  const showActions = !readOnly && (undecided || changing) && !mine;
  const decide = (kind: DecisionKind, extra?: DecideExtra) => { setChanging(false); onDecide(p, kind, extra); };
  return (
    <li id={proposalDomId(p.finding_id)} tabIndex={0}
        className={`proposal${undecided ? ' proposal-undecided' : ` proposal-${p.decision!.decision}`}${focused ? ' proposal-focused' : ''}`}
        data-testid="proposal" data-finding-id={p.finding_id} data-decision={p.decision?.decision ?? ''}
        aria-label={`${p.label || KIND[p.kind] || p.kind}: ${undecided ? 'AI-proposed' : p.decision!.decision}`}
        onFocus={onFocus}
        onKeyDown={(e) => {
          if (e.target !== e.currentTarget) return;
          if (e.key === 'ArrowDown') { e.preventDefault(); onMove(1); }
          if (e.key === 'ArrowUp') { e.preventDefault(); onMove(-1); }
        }}>
      <div className="proposal-head">
        <SeverityBadge severity={p.severity || 'info'} />
        <b>{p.label || KIND[p.kind] || p.kind}</b>
        {p.lung_rads && <span className="lung-rads" title="Lung-RADS v2022 category">Lung-RADS {p.lung_rads}</span>}
        <span className="spacer" />
        {undecided
          ? <span className="ai-proposed" data-testid="ai-proposed">AI-proposed</span>
          : <span className={`decision decision-${p.decision!.decision}`} data-testid="decision">{decisionText(p)}</span>}
      </div>
      <div className="proposal-app muted small" data-testid="proposal-app">
        {appName(p)}{where ? ` · ${where}` : ''}
      </div>
      <p className={`proposal-sentence${p.decision?.decision === 'rejected' ? ' struck' : ''}`}>{sentence}</p>
      {p.decision?.decision === 'rejected' && p.decision.reason && (
        <p className="muted small" data-testid="reject-reason-shown">Reason: {p.decision.reason}</p>
      )}
      {/* Decided cards stay short: what was decided; the values are in the fields now. */}
      {(undecided || changing || mine) && (
        <>
          <ValueList values={p.decision?.values && Object.keys(p.decision.values).length ? p.decision.values : p.values} template={template} />
          {(measures || trend) && <p className="muted small">{[measures, trend].filter(Boolean).join(' · ')}</p>}
        </>
      )}
      {showActions && (
        <div className="actions proposal-actions">
          <button type="button" className="primary" disabled={busy} onClick={() => decide('accepted')} data-testid="accept">
            Accept <kbd>Alt+A</kbd>
          </button>
          <button type="button" disabled={busy} onClick={() => setPending({ id: p.finding_id, kind: 'edit' })} data-testid="edit">
            Edit <kbd>Alt+M</kbd>
          </button>
          <button type="button" disabled={busy} onClick={() => setPending({ id: p.finding_id, kind: 'reject' })} data-testid="reject">
            Reject <kbd>Alt+R</kbd>
          </button>
          {changing && <button type="button" className="link" onClick={() => setChanging(false)}>keep</button>}
        </div>
      )}
      {!readOnly && !undecided && !changing && !mine && (
        <button type="button" className="link small" onClick={() => setChanging(true)} data-testid="change">change decision</button>
      )}
      {mine === 'reject' && (
        <RejectForm onReject={(reason) => { setPending(null); decide('rejected', reason ? { reason } : {}); }}
                    onCancel={() => setPending(null)} />
      )}
      {mine === 'edit' && (
        <EditForm proposal={p} template={template}
                  onSave={(s, values) => { setPending(null); decide('edited', { sentence: s, values }); }}
                  onCancel={() => setPending(null)} />
      )}
    </li>
  );
}

export function ProposalList(props: ListProps) {
  const { proposals } = props;
  if (!proposals.length) return <p className="muted" data-testid="no-proposals">No AI proposals for this study.</p>;
  const open = proposals.filter((p) => !p.decision).length;
  return (
    <>
      <p className="muted small" data-testid="proposal-count">
        {open ? `${open} of ${proposals.length} still AI-proposed` : `all ${proposals.length} decided`}
      </p>
      <ol className="proposals" aria-label="AI proposals">
        {proposals.map((p) => (
          <ProposalCard key={p.finding_id} p={p} template={props.template} focused={props.focusedId === p.finding_id}
                        onFocus={() => props.onFocus(p.finding_id)} pending={props.pending}
                        setPending={props.setPending} onDecide={props.onDecide}
                        busy={props.busyId === p.finding_id} readOnly={props.readOnly} onMove={props.onMove} />
        ))}
      </ol>
    </>
  );
}
