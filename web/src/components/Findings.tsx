import type { Finding, LesionFollowUp, TrackedLesion } from '../types';
import { formatMeasure, formatPercentChange } from '../lib/format';
import { SeverityBadge } from './Badges';

function detailsText(details: Record<string, unknown> | undefined | null): string {
  if (!details || typeof details !== 'object') return '';
  return Object.entries(details)
    .filter(([, v]) => v !== null && v !== undefined && v !== '' && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toFixed(3)) : String(v)}`)
    .join(', ');
}

export function FindingsTable({ findings, compact = false }: { findings: Finding[] | null; compact?: boolean }) {
  if (findings === null) return <p className="muted">loading…</p>;
  if (!findings.length) return <p className="muted">No AI findings.</p>;
  return (
    <table className="grid findings">
      <thead>
        <tr><th>severity</th><th>finding</th>{!compact && <th>app</th>}<th>size mm</th><th>vol mL</th>{!compact && <th>details</th>}</tr>
      </thead>
      <tbody>
        {findings.map((f) => (
          <tr key={f.id} className={`sev-row-${f.severity}`}>
            <td><SeverityBadge severity={f.severity} /></td>
            <td title={f.type?.meaning}>{f.label || f.type?.meaning}{compact && <div className="muted small">{f.app_id}</div>}</td>
            {!compact && <td>{f.app_id}</td>}
            <td className="num">{formatMeasure(f.size_mm)}</td>
            <td className="num">{formatMeasure(f.volume_ml, 2)}</td>
            {!compact && <td className="details">{detailsText(f.details)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function lesionSize(f: TrackedLesion['current']): string {
  if (!f) return '';
  const parts = [];
  if (f.size_mm) parts.push(`${formatMeasure(f.size_mm)} mm`);
  if (f.volume_ml) parts.push(`${formatMeasure(f.volume_ml, 2)} mL`);
  return parts.join(' / ');
}

export function LesionsTable({ followUp, error }: { followUp: LesionFollowUp | null; error?: string }) {
  if (error) return <p className="muted">{error}</p>;
  if (followUp === null) return <p className="muted">loading…</p>;
  const { lesions } = followUp;
  const about = [
    followUp.prior_study_uid ? `against prior ${followUp.prior_study_uid}` : '',
    followUp.interval_days ? `${Math.round(followUp.interval_days)} days apart` : '',
    followUp.state && followUp.state !== 'none' && followUp.state !== 'ok' ? followUp.state : '',
  ].filter(Boolean).join(' · ');
  return (
    <>
      {about && <p className="muted small" data-testid="lesion-followup">{about}</p>}
      {followUp.error && <p className="message message-error">{followUp.error}</p>}
      {!lesions.length ? <p className="muted">No tracked lesions.</p> : (
        <table className="grid lesions">
          <thead>
            <tr><th>id</th><th>status</th><th>now</th><th>prior</th><th>vol Δ</th><th>Ø Δ mm</th><th>doubling</th></tr>
          </thead>
          <tbody>
            {lesions.map((l) => (
              <tr key={l.tracking_uid || l.tracking_id} className={`lesion-${l.status}`}>
                <td>{l.tracking_id}</td>
                <td><span className={`lstatus lstatus-${l.status}`}>{l.status}</span></td>
                <td>{lesionSize(l.current)}</td>
                <td>{lesionSize(l.prior)}</td>
                <td className="num">{formatPercentChange(l.volume_change_pct)}</td>
                <td className="num">{l.diameter_change_mm === null || l.diameter_change_mm === undefined ? '' : l.diameter_change_mm.toFixed(1)}</td>
                <td className="num">{l.doubling_time_days ? `${Math.round(l.doubling_time_days)} d` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
