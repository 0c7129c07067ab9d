// Signing: preliminary or final, with the reader's name; every error-level QA issue must be
// acknowledged (one checkbox each) before the report can be signed, warnings are listed.
import { useEffect, useRef, useState } from 'react';
import type { QaIssue } from '../../api/report';
import { CHECK_LABELS } from './QaPanel';

export type SignStatus = 'preliminary' | 'final';

interface Props {
  issues: QaIssue[];
  reader: string;
  initialStatus?: SignStatus;
  allowPreliminary?: boolean;
  busy: boolean;
  error: string;
  onSign: (status: SignStatus, acknowledged: string[]) => void;
  onCancel: () => void;
}

export function SignDialog({ issues, reader, initialStatus = 'final', allowPreliminary = true, busy, error, onSign, onCancel }: Props) {
  const [status, setStatus] = useState<SignStatus>(initialStatus);
  const [acked, setAcked] = useState<Set<string>>(new Set());
  const box = useRef<HTMLDivElement>(null);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity !== 'error');
  const missing = errors.filter((i) => !acked.has(i.id));
  const canSign = Boolean(reader) && missing.length === 0 && !busy;

  useEffect(() => {
    const first = box.current?.querySelector<HTMLElement>('input[type="checkbox"]:not(:checked), button.primary');
    first?.focus();
  }, []);

  const toggle = (id: string, on: boolean) => {
    const next = new Set(acked);
    if (on) next.add(id); else next.delete(id);
    setAcked(next);
  };
  const sign = () => { if (canSign) onSign(status, errors.map((i) => i.id)); };

  return (
    <div className="dialog-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) onCancel(); }}>
      <div ref={box} className="dialog sign-dialog" role="dialog" aria-modal="true" aria-labelledby="sign-title"
           data-testid="sign-dialog"
           onKeyDown={(e) => {
             if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); onCancel(); }
             if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); e.stopPropagation(); sign(); }
           }}>
        <h2 id="sign-title">Sign the report</h2>
        <fieldset className="sign-status">
          <legend>Status</legend>
          <label className="inline">
            <input type="radio" name="sign-status" value="final" checked={status === 'final'}
                   onChange={() => setStatus('final')} data-testid="sign-final" />
            Final
          </label>
          {allowPreliminary && (
            <label className="inline">
              <input type="radio" name="sign-status" value="preliminary" checked={status === 'preliminary'}
                     onChange={() => setStatus('preliminary')} data-testid="sign-preliminary" />
              Preliminary
            </label>
          )}
        </fieldset>
        {errors.length > 0 && (
          <div className="sign-issues">
            <p><b>{errors.length} QA error{errors.length === 1 ? '' : 's'}</b>: tick each one you have checked and still sign as it is.</p>
            <ul>
              {errors.map((i) => (
                <li key={i.id}>
                  <label className="inline sign-ack">
                    <input type="checkbox" checked={acked.has(i.id)} onChange={(e) => toggle(i.id, e.target.checked)}
                           data-testid="sign-ack" data-issue-id={i.id} />
                    <span><span className="muted small">{CHECK_LABELS[i.check] ?? i.check}:</span> {i.message}</span>
                  </label>
                </li>
              ))}
            </ul>
          </div>
        )}
        {warnings.length > 0 && (
          <div className="sign-warnings">
            <p className="muted">{warnings.length} warning{warnings.length === 1 ? '' : 's'}:</p>
            <ul>{warnings.map((i) => <li key={i.id} className="small">{i.message}</li>)}</ul>
          </div>
        )}
        {!issues.length && <p className="muted">The QA checks found nothing.</p>}
        <p className="sign-by" data-testid="sign-by">
          {reader ? <>Signed by <b>{reader}</b> now ({new Date().toLocaleString()}).</> : <span className="message message-error">Enter your reader name (top right) to sign.</span>}
        </p>
        {error && <p className="message message-error" role="alert" data-testid="sign-error">{error}</p>}
        <div className="actions">
          <button type="button" className="primary" disabled={!canSign} onClick={sign} data-testid="sign-confirm">
            Sign {status} <kbd>Ctrl+Enter</kbd>
          </button>
          <button type="button" onClick={onCancel}>Cancel <kbd>Esc</kbd></button>
          {missing.length > 0 && <span className="muted small">{missing.length} to acknowledge</span>}
        </div>
      </div>
    </div>
  );
}
