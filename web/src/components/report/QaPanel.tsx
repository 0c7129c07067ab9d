// The QA checks of the saved draft (GET /api/v1/reports/{id}/qa): each issue with its message
// and links to what it is about — the AI finding (focuses its proposal) and/or the sentence
// (selects it in the text: the server's offsets are UTF-8 bytes).
import type { QaIssue } from '../../api/report';

export const CHECK_LABELS: Record<string, string> = {
  undecided_finding: 'AI finding not decided',
  laterality_mismatch: 'laterality',
  site_mismatch: 'site',
  measurement_mismatch: 'measurement',
  lung_rads_inconsistent: 'Lung-RADS',
  followup_inconsistent: 'follow-up',
  critical_not_communicated: 'critical result',
};

const FIELD_LABELS: Record<string, string> = {
  findings_text: 'findings', impression_text: 'impression', critical_communicated: 'communication',
};

export function hasSentence(i: QaIssue): boolean {
  return Boolean(i.field) && i.offset >= 0;
}

interface Props {
  issues: QaIssue[] | null;
  error: string;
  checking: boolean;
  onCheck?: () => void;
  onFinding: (i: QaIssue) => void;
  onSentence: (i: QaIssue) => void;
  onField: (i: QaIssue) => void;
  fieldLabel?: (id: string) => string;
}

export function QaPanel({ issues, error, checking, onCheck, onFinding, onSentence, onField, fieldLabel }: Props) {
  const errors = issues?.filter((i) => i.severity === 'error').length ?? 0;
  const label = (f: string) => FIELD_LABELS[f] ?? fieldLabel?.(f) ?? f;
  return (
    <section className="qa-panel" data-testid="qa" aria-label="Report QA" data-checking={checking ? 'true' : 'false'}>
      <div className="report-subhead">
        <h3>QA checks</h3>
        {issues && (
          <span className={errors ? 'qa-count qa-count-error' : 'qa-count'} data-testid="qa-count">
            {issues.length ? `${errors} error${errors === 1 ? '' : 's'}, ${issues.length - errors} warning${issues.length - errors === 1 ? '' : 's'}` : 'no issues'}
          </span>
        )}
        <span className="spacer" />
        {checking && <span className="muted small">checking…</span>}
        {onCheck && <button type="button" className="link" onClick={onCheck} data-testid="qa-run">check <kbd>Alt+Q</kbd></button>}
      </div>
      {error && <p className="muted small">{error}</p>}
      {issues && issues.length > 0 && (
        <ul className="qa-issues">
          {issues.map((i) => (
            <li key={i.id} className={`qa-issue qa-${i.severity}`} data-testid="qa-issue" data-check={i.check}>
              <span className={`qa-sev qa-sev-${i.severity}`}>{i.severity}</span>
              <span className="qa-check muted small">{CHECK_LABELS[i.check] ?? i.check}</span>
              <span className="qa-message">{i.message}</span>
              <span className="qa-links">
                {i.finding_id ? (
                  <button type="button" className="link" onClick={() => onFinding(i)} data-testid="qa-link-finding">show finding</button>
                ) : null}
                {hasSentence(i) ? (
                  <button type="button" className="link" onClick={() => onSentence(i)} data-testid="qa-link-sentence">
                    show in {label(i.field)}
                  </button>
                ) : i.field ? (
                  <button type="button" className="link" onClick={() => onField(i)} data-testid="qa-link-field">go to {label(i.field)}</button>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
