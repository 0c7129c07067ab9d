// A report read-only: a signed one of this study (with its SR, FHIR resource and delivery),
// or a prior's (beside the prior's images). Sections and field values when the template is
// known, else the values by field id; external reports (HL7/REST) are their text.
import { useEffect, useState } from 'react';
import { fhirUrl, reportApi, srUrl, type Delivery, type Report, type ReportTemplate } from '../../api/report';
import { useResource } from '../../hooks/useResource';
import { formatTimestamp } from '../../lib/format';
import { asMs, docFromReport, fieldText, textPlaces, valueText, type TextKey } from './draft';

export function StatusBadge({ status, superseded = false }: { status: string; superseded?: boolean }) {
  return (
    <span className={`rstatus rstatus-${status}${superseded ? ' rstatus-superseded' : ''}`} data-testid="report-status">
      {status}{superseded ? ' (superseded)' : ''}
    </span>
  );
}

export function signedLine(r: Report): string {
  const parts: string[] = [];
  if (r.signed_by) parts.push(`signed by ${r.signed_by}`);
  else if (r.author) parts.push(`by ${r.author}`);
  if (r.signed_at) parts.push(formatTimestamp(asMs(r.signed_at)));
  if (r.version > 1) parts.push(`version ${r.version}`);
  if (r.origin && r.origin !== 'radflow') parts.push(`received by ${r.origin.toUpperCase()}`);
  return parts.join(' · ');
}

function Text({ title, text }: { title: string; text: string }) {
  if (!text.trim()) return null;
  return (
    <div className="rv-text">
      <h4>{title}</h4>
      <p className="rv-pre">{text}</p>
    </div>
  );
}

export function ReportBody({ report, template }: { report: Report; template: ReportTemplate | null }) {
  const doc = docFromReport(report);
  const places = textPlaces(template);
  const shown = new Set<string>();
  const sections = (template?.sections ?? []).map((s) => {
    const texts: [string, string][] = [];
    const values = s.fields.flatMap((f) => {
      const key = fieldText(f);
      if (key) { texts.push([key, doc[key]]); return []; }
      if (!valueText(doc.fields[f.id]).trim()) return [];
      shown.add(f.id);
      const v = doc.fields[f.id];
      const label = (x: string) => f.options.find((o) => o.value === x)?.label || x;
      const vt = Array.isArray(v) ? v.map(label).join(', ') : f.type === 'boolean' ? (v === 'true' ? 'yes' : 'no') : label(v ?? '');
      return [<div key={f.id}><dt>{f.label || f.id}</dt><dd>{vt}{f.unit && f.type === 'number' ? ` ${f.unit}` : ''}</dd></div>];
    });
    for (const key of places.section.get(s.id) ?? []) texts.push([key, doc[key]]);
    if (doc.sections[s.id]) texts.push([s.id, doc.sections[s.id]]);
    const shownTexts = texts.filter(([, t]) => t.trim());
    if (!values.length && !shownTexts.length) return null;
    return (
      <div key={s.id} className="rv-section">
        <h4>{s.title || s.id}</h4>
        {values.length > 0 && <dl className="rv-values">{values}</dl>}
        {shownTexts.map(([k, t]) => <p key={k} className="rv-pre">{t}</p>)}
      </div>
    );
  });
  const rest = Object.entries(doc.fields).filter(([k, v]) => !shown.has(k) && valueText(v).trim());
  const missing = template ? places.missing : (['findings_text', 'impression_text'] as TextKey[]);
  return (
    <div className="report-body" data-testid="report-body">
      {sections}
      {rest.length > 0 && (
        <dl className="rv-values">
          {rest.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{valueText(v)}</dd></div>)}
        </dl>
      )}
      {missing.includes('findings_text') && <Text title="Findings" text={doc.findings_text} />}
      {missing.includes('impression_text') && <Text title="Impression" text={doc.impression_text} />}
      {doc.critical_communicated && <p className="small">Communicated: {doc.critical_communicated}</p>}
    </div>
  );
}

/** Delivery states settle once sent (or given up); until then they are polled. */
const SETTLED = new Set(['sent', 'acked', 'accepted', 'delivered', 'failed', 'rejected', 'dead', 'error']);

export function DeliveryTable({ reportId, initial, pollMs = 3000 }: { reportId: number; initial?: Delivery[]; pollMs?: number }) {
  const [rows, setRows] = useState<Delivery[] | null>(initial ?? null);
  const [error, setError] = useState('');
  useEffect(() => {
    let stop = false;
    let t: ReturnType<typeof setTimeout> | null = null;
    let polls = 0;
    const load = async () => {
      try {
        const d = await reportApi.delivery(reportId);
        if (stop) return;
        setRows(d);
        setError('');
        if (d.some((x) => !SETTLED.has(x.state)) && ++polls < 60) t = setTimeout(load, pollMs);
      } catch (e) {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      }
    };
    void load();
    return () => { stop = true; if (t) clearTimeout(t); };
  }, [reportId, pollMs]);
  if (error && !rows) return <p className="muted small">Delivery: {error}</p>;
  if (!rows) return <p className="muted small">Delivery: loading…</p>;
  if (!rows.length) return <p className="muted small" data-testid="delivery">Delivery: no HL7 receivers configured.</p>;
  return (
    <table className="grid delivery" data-testid="delivery">
      <thead><tr><th>receiver</th><th>ORU</th><th>state</th><th>tries</th><th>sent</th></tr></thead>
      <tbody>
        {rows.map((d) => (
          <tr key={d.id} data-state={d.state} title={d.last_error || undefined}>
            <td>{d.receiver}</td>
            <td>{d.result_status}</td>
            <td className={`dstate dstate-${d.state}`}>{d.state}{d.last_error ? ' ⚠' : ''}</td>
            <td className="num">{d.attempts}</td>
            <td>{d.sent_at ? formatTimestamp(asMs(d.sent_at)) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The template of a report by id, for its labels (null while unknown or not found). */
export function useTemplate(id: string, known: ReportTemplate | null = null): ReportTemplate | null {
  const need = Boolean(id) && known?.id !== id;
  const res = useResource(() => (need ? reportApi.template(id) : Promise.resolve(null)), [id, need]);
  return need ? res.data : known;
}

/** The latest signed (or received) report of a prior study, read-only. */
export function PriorReport({ priorUid }: { priorUid: string }) {
  const res = useResource(() => reportApi.studyReports(priorUid), [priorUid]);
  const reports = (res.data ?? []).filter((r) => r.status !== 'draft');
  const [index, setIndex] = useState(0);
  const shown = reports[Math.min(index, Math.max(0, reports.length - 1))] ?? null;
  const template = useTemplate(shown?.template_id ?? '');
  if (res.error) return <p className="muted small" data-testid="prior-report">Prior report: {res.error}</p>;
  if (!res.data) return <p className="muted small" data-testid="prior-report">Prior report: loading…</p>;
  if (!shown) return <p className="muted small" data-testid="prior-report">The prior has no report.</p>;
  return (
    <div className="prior-report" data-testid="prior-report">
      <div className="report-subhead">
        <StatusBadge status={shown.status} superseded={shown.superseded} />
        <span className="muted small">{signedLine(shown)}</span>
        <span className="spacer" />
        {reports.length > 1 && (
          <select aria-label="Version of the prior's report" value={index} onChange={(e) => setIndex(Number(e.target.value))}>
            {reports.map((r, i) => <option key={r.id} value={i}>{`v${r.version} ${r.status}${r.superseded ? ' (old)' : ''}`}</option>)}
          </select>
        )}
      </div>
      <ReportBody report={shown} template={template} />
    </div>
  );
}

/** A signed report of this study with where it went. */
export function SignedSummary({ report }: { report: Report }) {
  const sr = srUrl(report);
  return (
    <div className="signed-summary" data-testid="signed-summary">
      <div className="report-subhead">
        <StatusBadge status={report.status} superseded={report.superseded} />
        <span data-testid="signed-line">{signedLine(report)}</span>
      </div>
      <p className="small signed-links">
        {sr ? <a href={sr} data-testid="sr-link" title={`SOP Instance UID ${report.sr_sop_uid}`} target="_blank" rel="noreferrer">DICOM SR</a>
          : <span className="muted">no DICOM SR stored</span>}
        {' · '}
        <a href={fhirUrl(report)} data-testid="fhir-link" target="_blank" rel="noreferrer">FHIR DiagnosticReport</a>
      </p>
      <DeliveryTable reportId={report.id} initial={report.delivery} />
    </div>
  );
}
