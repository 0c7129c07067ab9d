// Typed client of the orders REST of issue 14 (docs/orders.md, REST section): imaging orders
// (one per requested procedure: its Modality Worklist item and appointment), their status as
// the technologist and MPPS set it, the proposed protocol, the no-show risk, and the studies
// that arrived without an order (reconciliation). Same origin, through `request` (../api).
// Times are unix ms (UTC).
import { request } from '../api';

const enc = encodeURIComponent;

/** DICOM RequestedProcedurePriority (0040,1003) as radflow keeps it. */
export type Priority = 'STAT' | 'HIGH' | 'ROUTINE' | 'MEDIUM' | 'LOW';
export const PRIORITY_RANK: Record<string, number> = { STAT: 0, HIGH: 1, ROUTINE: 2, MEDIUM: 3, LOW: 4 };

export type OrderStatus =
  | 'scheduled' | 'arrived' | 'in_progress' | 'completed' | 'discontinued' | 'cancelled' | 'no_show';
export const ORDER_STATUSES: OrderStatus[] =
  ['scheduled', 'arrived', 'in_progress', 'completed', 'discontinued', 'cancelled', 'no_show'];
export const STATUS_LABELS: Record<string, string> = {
  scheduled: 'scheduled', arrived: 'arrived', in_progress: 'in progress', completed: 'completed',
  discontinued: 'discontinued', cancelled: 'cancelled', no_show: 'no-show',
};

/** '' none | proposed (by the rules) | accepted | changed (by a technologist). */
export type ProtocolState = '' | 'proposed' | 'accepted' | 'changed';

/** An order: the server's OrderRow (src/storage/order_store.h) with the same snake_case names. */
export interface Order {
  id: number;
  placer_order_number: string;
  filler_order_number: string;
  accession_number: string;
  patient_id: string;
  issuer_of_patient_id: string;
  patient_name: string;      // DICOM PN
  birth_date: string;        // YYYYMMDD
  sex: string;
  requested_procedure_id: string;
  procedure_code: string;
  procedure_scheme: string;
  procedure_text: string;
  modality: string;
  body_part: string;
  priority: Priority | string;
  reason: string;
  referring_physician: string;
  station_ae: string;
  station_name: string;
  procedure_step_id: string;
  study_uid: string;
  scheduled_at: number;
  duration_minutes: number;
  booked_at: number;
  status: OrderStatus | string;
  protocol_code: string;
  protocol_name: string;
  protocol_reason: string;
  protocol_rule: string;
  protocol_state: ProtocolState | string;
  protocol_by: string;
  reminder_sent: boolean;
  /** 0..1 from the no-show model; -1 (or absent) not scored */
  noshow_risk: number;
  mpps_uid: string;
  performed_start: number;
  performed_end: number;
  linked_study_uid: string;
  source: string;
  created_at: number;
  updated_at: number;
}

export interface OrderAudit { id: number; order_id: number; at: number; user: string; action: string; note: string }
export type OrderWithAudit = Order & { audit?: OrderAudit[] };

export interface OrderList { total: number; items: Order[] }

export interface OrderQuery {
  status?: string[];
  station?: string;
  modality?: string;
  from?: number;   // scheduled_at >= from (ms)
  to?: number;     // scheduled_at < to (ms)
  patient?: string;
  accession?: string;
  limit?: number;
  offset?: number;
}

export function ordersUrl(q: OrderQuery = {}): string {
  const p = new URLSearchParams();
  if (q.status && q.status.length) p.set('status', q.status.join(','));
  if (q.station) p.set('station', q.station);
  if (q.modality) p.set('modality', q.modality);
  if (q.from) p.set('from', String(q.from));
  if (q.to) p.set('to', String(q.to));
  if (q.patient) p.set('patient', q.patient);
  if (q.accession) p.set('accession', q.accession);
  if (q.limit) p.set('limit', String(q.limit));
  if (q.offset) p.set('offset', String(q.offset));
  const s = p.toString();
  return s ? `/api/v1/orders?${s}` : '/api/v1/orders';
}

/** A protocol of the rule set (GET /api/v1/protocols), for the Change list. */
export interface Protocol {
  id: string;
  protocol_code: string;
  protocol_name: string;
  modality: string;
  body_part?: string;
  contrast?: string;
  duration_minutes?: number;
}

/**
 * The distinct protocols of a rule set, by code (several rules may propose the same one),
 * sorted by modality then name. Accepts {rules: [...]}, {protocols: [...]} or a bare list.
 */
export function protocolsOf(answer: unknown): Protocol[] {
  const list: unknown = Array.isArray(answer) ? answer
    : (answer && typeof answer === 'object')
      ? ((answer as { rules?: unknown }).rules ?? (answer as { protocols?: unknown }).protocols ?? (answer as { items?: unknown }).items ?? [])
      : [];
  const seen = new Map<string, Protocol>();
  for (const r of Array.isArray(list) ? list : []) {
    if (!r || typeof r !== 'object') continue;
    const p = r as Partial<Protocol> & { code?: string; name?: string; rule_id?: string };
    const code = String(p.protocol_code ?? p.code ?? '');
    if (!code || seen.has(code)) continue;
    seen.set(code, {
      id: String(p.id ?? p.rule_id ?? code), protocol_code: code, protocol_name: String(p.protocol_name ?? p.name ?? code),
      modality: String(p.modality ?? ''), body_part: p.body_part, contrast: p.contrast, duration_minutes: p.duration_minutes,
    });
  }
  return [...seen.values()].sort((a, b) => a.modality.localeCompare(b.modality) || a.protocol_name.localeCompare(b.protocol_name));
}

/** A study that arrived without an order for its accession (reconciliation). */
export interface UnmatchedStudy {
  study_uid: string;
  accession_number: string;
  patient_id: string;
  patient_name: string;
  modalities: string;
  study_date: string;
  arrived_at: number;
  resolved_by: string;
  resolved_order_id: number;
}

const order = (id: number) => `/api/v1/orders/${enc(String(id))}`;
const listOf = <T,>(r: unknown, key: string): T[] =>
  (Array.isArray(r) ? r : (r && typeof r === 'object' ? ((r as Record<string, unknown>)[key] ?? (r as Record<string, unknown>).items ?? []) : [])) as T[];

export const orders = {
  list: (q: OrderQuery, signal?: AbortSignal) =>
    request<OrderList | Order[]>('GET', ordersUrl(q), undefined, signal)
      .then((r): OrderList => (Array.isArray(r) ? { total: r.length, items: r } : { total: r?.total ?? 0, items: r?.items ?? [] })),
  get: (id: number, signal?: AbortSignal) => request<OrderWithAudit>('GET', order(id), undefined, signal),
  audit: (id: number, signal?: AbortSignal) =>
    request<OrderAudit[] | { audit: OrderAudit[] }>('GET', `${order(id)}/audit`, undefined, signal).then((r) => listOf<OrderAudit>(r, 'audit')),
  /** The technologist's marks: the patient is here, did not come, or back to scheduled. */
  setStatus: (id: number, status: 'arrived' | 'no_show' | 'scheduled') =>
    request<Order>('POST', `${order(id)}/status`, { status }),
  acceptProtocol: (id: number) => request<Order>('POST', `${order(id)}/protocol`, { action: 'accept' }),
  changeProtocol: (id: number, protocolCode: string, protocolName: string) =>
    request<Order>('POST', `${order(id)}/protocol`, { action: 'change', protocol_code: protocolCode, protocol_name: protocolName }),
  reminder: (id: number, sent = true) => request<Order>('POST', `${order(id)}/reminder`, { sent }),
  cancel: (id: number, reason: string) => request<Order>('POST', `${order(id)}/cancel`, { reason }),
  protocols: (signal?: AbortSignal) => request<unknown>('GET', '/api/v1/protocols', undefined, signal).then(protocolsOf),
  reconciliation: (all = false, signal?: AbortSignal) =>
    request<UnmatchedStudy[] | { items: UnmatchedStudy[] }>('GET', `/api/v1/reconciliation?all=${all ? 1 : 0}`, undefined, signal)
      .then((r) => listOf<UnmatchedStudy>(r, 'unmatched')),
  /** Links the study to the order, or dismisses it (orderId 0). */
  reconcile: (studyUid: string, orderId: number) =>
    request<unknown>('POST', '/api/v1/reconciliation', { study_uid: studyUid, order_id: orderId }),
};
