import type { AiFlag } from '../types';
import { STATE_LABELS, aiPendingCount } from '../lib/format';

/** Priority: the score, in the colour of what drives it (critical AI finding, STAT, …). */
export function PriorityBadge({ score, aiFlag, order }: { score: number; aiFlag: AiFlag; order: string }) {
  const level = aiFlag === 'critical' ? 'critical'
    : order === 'STAT' ? 'stat'
    : aiFlag === 'high' || order === 'HIGH' ? 'high'
    : score < 0 ? 'low' : 'routine';
  return <span className={`prio prio-${level}`} title={`priority score ${score}`}>{Math.round(score)}</span>;
}

export function OrderBadge({ order }: { order: string }) {
  if (!order) return <span className="muted">—</span>;
  return <span className={`order order-${order.toLowerCase()}`}>{order}</span>;
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{STATE_LABELS[state] ?? state}</span>;
}

export function AiBadge({ flag, pending }: { flag: AiFlag; pending: number | boolean }) {
  const n = aiPendingCount(pending);
  return (
    <span className="ai">
      {flag && flag !== 'none' && <span className={`sev sev-${flag}`} title={`most severe AI finding: ${flag}`}>{flag}</span>}
      {n > 0 && <span className="ai-pending" title={`${n} AI job${n > 1 ? 's' : ''} queued or running`}>AI…{n > 1 ? n : ''}</span>}
      {(!flag || flag === 'none') && n === 0 && <span className="muted">—</span>}
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <span className={`sev sev-${severity}`}>{severity}</span>;
}
