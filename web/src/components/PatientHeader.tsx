import type { WorklistItem } from '../types';
import {
  formatAgeSex, formatDicomDate, formatDicomTime, formatDuration, formatModalities,
  formatPatientName, formatTat, reasonLines, waitingMs,
} from '../lib/format';
import { AiBadge, OrderBadge, PriorityBadge, StateBadge } from './Badges';

/** Who and what: patient, study, order, state, priority and why. */
export function PatientHeader({ item, now, compact = false }: { item: WorklistItem; now: number; compact?: boolean }) {
  const reasons = reasonLines(item.priority_reasons);
  return (
    <div className={`patient-header${item.ai_flag === 'critical' ? ' critical' : ''}${compact ? ' compact' : ''}`}>
      <div className="ph-line">
        <PriorityBadge score={item.priority_score} aiFlag={item.ai_flag} order={item.order_priority} />
        <span className="ph-name" data-testid="patient-name">{formatPatientName(item.patient_name) || '(no name)'}</span>
        <span className="ph-id">{item.patient_id}{item.issuer_of_patient_id ? ` (${item.issuer_of_patient_id})` : ''}</span>
        <span>{formatAgeSex(item.birth_date, item.sex, item.study_date)}</span>
        {!compact && item.birth_date && <span className="muted">born {formatDicomDate(item.birth_date)}</span>}
        <OrderBadge order={item.order_priority} />
        <StateBadge state={item.state} />
        {item.reader && <span className="ph-reader" data-testid="holder">reader: <b>{item.reader}</b></span>}
        <AiBadge flag={item.ai_flag} pending={item.ai_pending} />
      </div>
      <div className="ph-line muted">
        <span>{formatModalities(item.modalities)} {item.body_part}</span>
        <span>{item.study_description}</span>
        <span>{formatDicomDate(item.study_date)} {formatDicomTime(item.study_time)}</span>
        <span>waiting {formatDuration(waitingMs(item, now))}</span>
        {item.tat_ms > 0 && <span>TAT {formatTat(item.tat_ms)}</span>}
        <span>{item.num_series} series, {item.num_instances} images</span>
      </div>
      {reasons.length > 0 && (
        <ul className="reasons" data-testid="reasons">
          {reasons.map((r) => <li key={r} className={r.includes('critical') ? 'reason-critical' : ''}>{r}</li>)}
        </ul>
      )}
    </div>
  );
}
