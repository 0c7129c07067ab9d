// One typed field of a report template: text, number with its unit (range shown and checked),
// select (a list of checkboxes when several may be chosen), coded value (the option's code
// shown), date, boolean. Values are kept as text ("12.5", "true", "2024-01-31").
import type { ReactNode } from 'react';
import type { FieldValue, Proposal, TemplateField } from '../../api/report';
import { appName, valueText } from './draft';

export const fieldDomId = (id: string) => `rf-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function rangeText(f: TemplateField): string {
  const lo = f.min ?? null;
  const hi = f.max ?? null;
  if (lo !== null && hi !== null) return `${lo}–${hi}`;
  if (lo !== null) return `≥ ${lo}`;
  if (hi !== null) return `≤ ${hi}`;
  return '';
}

/** Why a number field's text is not acceptable, or ''. */
export function numberProblem(f: TemplateField, v: string): string {
  if (!v.trim()) return '';
  const n = Number(v);
  if (!Number.isFinite(n)) return 'not a number';
  if (f.min !== null && f.min !== undefined && n < f.min) return `below ${f.min}`;
  if (f.max !== null && f.max !== undefined && n > f.max) return `above ${f.max}`;
  return '';
}

interface Props {
  field: TemplateField;
  value: FieldValue | undefined;
  onChange: (v: FieldValue) => void;
  readOnly?: boolean;
  /** The undecided AI proposal this value came from. */
  proposedBy?: Proposal | null;
}

export function FieldInput({ field, value, onChange, readOnly = false, proposedBy = null }: Props) {
  const id = fieldDomId(field.id);
  const text = valueText(value);
  const label = (
    <label htmlFor={field.type === 'select' && field.multiple ? undefined : id} className="rf-label">
      {field.label || field.id}{field.required && <span className="rf-required" title="required">*</span>}
    </label>
  );
  const ai = proposedBy && (
    <span className="ai-tag" title={`proposed by ${appName(proposedBy)}; accept, edit or reject the proposal`}>AI</span>
  );
  let control: ReactNode;
  let problem = '';
  switch (field.type) {
    case 'number': {
      problem = numberProblem(field, text);
      control = (
        <span className="rf-number">
          <input id={id} type="number" inputMode="decimal" step="any" value={text} readOnly={readOnly}
                 min={field.min ?? undefined} max={field.max ?? undefined}
                 aria-invalid={problem ? true : undefined}
                 onChange={(e) => onChange(e.target.value)} />
          {field.unit && <span className="rf-unit">{field.unit}</span>}
          {rangeText(field) && <span className="muted small">{rangeText(field)}</span>}
        </span>
      );
      break;
    }
    case 'select':
    case 'code': {
      if (field.multiple) {
        const chosen = new Set(Array.isArray(value) ? value : text ? text.split(',').map((x) => x.trim()) : []);
        control = (
          <span className="rf-multi" role="group" aria-label={field.label || field.id} id={id}>
            {field.options.map((o) => (
              <label key={o.value} className="inline" title={o.code ? `${o.code.value} (${o.code.scheme}) ${o.code.meaning}` : undefined}>
                <input type="checkbox" checked={chosen.has(o.value)} disabled={readOnly}
                       onChange={(e) => {
                         const next = field.options.map((x) => x.value)
                           .filter((v) => (v === o.value ? e.target.checked : chosen.has(v)));
                         onChange(next);
                       }} />
                {o.label || o.value}
              </label>
            ))}
          </span>
        );
      } else {
        const current = field.options.find((o) => o.value === text);
        control = (
          <span className="rf-select">
            <select id={id} value={text} disabled={readOnly} onChange={(e) => onChange(e.target.value)}>
              <option value="">—</option>
              {text && !current && <option value={text}>{text} (not in the list)</option>}
              {field.options.map((o) => <option key={o.value} value={o.value}>{o.label || o.value}</option>)}
            </select>
            {field.type === 'code' && current?.code && (
              <span className="muted small rf-code" title={current.code.meaning}>{current.code.value} ({current.code.scheme})</span>
            )}
          </span>
        );
      }
      break;
    }
    case 'date':
      control = <input id={id} type="date" value={text} readOnly={readOnly} onChange={(e) => onChange(e.target.value)} />;
      break;
    case 'boolean':
      control = (
        <input id={id} type="checkbox" checked={text === 'true'} disabled={readOnly}
               onChange={(e) => onChange(e.target.checked ? 'true' : 'false')} />
      );
      break;
    default:
      // MRRT text fields are inputs or textareas alike here: a line that grows as one types.
      control = (
        <textarea id={id} rows={1} className="rf-textarea" value={text} readOnly={readOnly}
                  onChange={(e) => onChange(e.target.value)} />
      );
  }
  return (
    <div className={`rf rf-${field.type}${proposedBy ? ' rf-ai' : ''}`} data-field-id={field.id}>
      {label}
      <span className="rf-control">{control}{ai}</span>
      {problem && <span className="rf-problem" role="alert">{problem}</span>}
    </div>
  );
}
