// Similar cases at reading time: the nearest earlier findings of other patients
// (GET /api/v1/findings/{id}/similar), each with its study date and signed impression.
import { useState } from 'react';
import { admin, type SimilarCase } from '../../api/admin';
import { useResource } from '../../hooks/useResource';
import { formatDicomDate, formatMeasure, formatTimestamp } from '../../lib/format';
import type { Finding } from '../../types';

/** "8.2 mm · 0.29 mL" — the measures the finding has. */
export function findingMeasures(f: Partial<Finding> | null | undefined): string {
  if (!f) return '';
  const parts: string[] = [];
  const size = formatMeasure(f.size_mm);
  const vol = formatMeasure(f.volume_ml, 2);
  if (size) parts.push(`${size} mm`);
  if (vol) parts.push(`${vol} mL`);
  return parts.join(' · ');
}

function findingName(f: Partial<Finding> | null | undefined): string {
  if (!f) return 'finding';
  return f.label || f.type?.meaning || `finding ${f.id ?? ''}`.trim();
}

/** A distance in standardised feature space: smaller is more similar. */
export function formatDistance(d: number | null | undefined): string {
  if (d === null || d === undefined || !Number.isFinite(d)) return '—';
  return d < 10 ? d.toFixed(2) : d.toFixed(1);
}

function reportStatus(c: SimilarCase): string {
  if (!c.report) return '';
  const when = c.report.signed_at ? `, signed ${formatTimestamp(c.report.signed_at)}` : '';
  return `${c.report.status}${when}`;
}

export function SimilarCases({ findingId }: { findingId: number }) {
  const [k, setK] = useState(10);
  const res = useResource((() => admin.similar(findingId, k)), [findingId, k]);
  const cases = res.data?.similar ?? [];
  return (
    <section className="similar-cases" data-testid="similar-cases" aria-label="Similar cases">
      <h3 title={res.data?.features?.length ? `nearest by ${res.data.features.join(', ')} (standardised)` : undefined}>
        Similar cases{res.data?.finding ? <> <span className="muted">to {findingName(res.data.finding)} {findingMeasures(res.data.finding)}</span></> : null}</h3>
      {res.error && <p className="error" role="alert">{res.error}</p>}
      {!res.error && !res.data && <p className="muted">Searching…</p>}
      {res.data && cases.length === 0 && <p className="muted">No similar findings of other patients.</p>}
      {cases.length > 0 && (
        <ol className="similar-list">
          {cases.map((c, i) => (
            <li key={`${c.finding?.id ?? i}-${i}`} data-testid="similar-case">
              <div className="similar-head">
                <span className="similar-rank">{i + 1}</span>
                <b>{findingName(c.finding)}</b>
                {findingMeasures(c.finding) && <span>{findingMeasures(c.finding)}</span>}
                <span className="muted" title="distance in standardised feature space (smaller is closer)">
                  distance {formatDistance(c.distance)}
                </span>
              </div>
              <div className="similar-meta muted">
                Patient {c.patient_id || '—'} · study {formatDicomDate(c.study_date) || 'date unknown'}
                {c.finding?.app_id ? ` · ${c.finding.app_id}${c.finding.app_version ? ` ${c.finding.app_version}` : ''}` : ''}
              </div>
              {c.report
                ? <blockquote className="similar-impression" title={reportStatus(c)}>
                    {c.report.impression_text || <span className="muted">(report has no impression)</span>}
                    <span className="muted similar-report-status"> — {reportStatus(c)}</span>
                  </blockquote>
                : <p className="muted similar-impression">no signed report</p>}
            </li>
          ))}
        </ol>
      )}
      {cases.length >= k && k < 50 && (
        <button type="button" className="link" onClick={() => setK(k + 10)}>show more</button>
      )}
    </section>
  );
}
