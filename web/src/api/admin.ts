// Typed client for the administrative REST of issue 13: follow-ups, AI performance, the app
// library and similar cases (docs: /tmp contract "REST"). Same origin, reader header from
// `request` (../api).
import { request } from '../api';
import type { Finding, Job } from '../types';

const enc = encodeURIComponent;

// ---- Follow-ups ----------------------------------------------------------------------

export type FollowupState = 'pending' | 'overdue' | 'satisfied' | 'closed';

export interface Followup {
  id: number;
  report_id: number;
  study_uid: string;
  patient_id: string;
  issuer_of_patient_id: string;
  patient_name: string;
  finding: string;
  modality: string;
  body_region: string;
  /** days, or [min, max] days, or null (no interval stated) */
  interval_days: number | [number, number] | null;
  conditional: boolean;
  text: string;
  base_date: string;   // YYYY-MM-DD
  due_date: string;    // YYYY-MM-DD
  state: FollowupState;
  satisfied_by: string;
  closed_reason: string;
  closed_by: string;
  created_at: number;
}

export interface FollowupQuery { state?: FollowupState | ''; patient_id?: string; limit?: number }

export function followupsUrl(q: FollowupQuery = {}): string {
  const p = new URLSearchParams();
  if (q.state) p.set('state', q.state);
  if (q.patient_id) p.set('patient_id', q.patient_id);
  if (q.limit) p.set('limit', String(q.limit));
  const s = p.toString();
  return `/api/v1/followups${s ? `?${s}` : ''}`;
}

// ---- AI performance ------------------------------------------------------------------

export interface PerformanceWeek {
  week: string;        // ISO week "2026-W49"
  start: string;       // Monday, YYYY-MM-DD
  results: number;
  findings: number;
  decided?: number;
  accepted: number;
  edited: number;
  rejected: number;
  /** decisions on findings of studies with a signed report: agreement's denominator */
  signed_decided?: number;
  agreement: number | null;
}

export interface AppPerformance {
  app_id: string;
  app_version: string;
  results: number;
  findings: number;
  decided: number;
  accepted: number;
  edited: number;
  rejected: number;
  accepted_rate: number | null;
  edited_rate: number | null;
  rejected_rate: number | null;
  signed_decided?: number;
  agreement: number | null;
  weeks: PerformanceWeek[];
}

export interface PerformanceAnswer { apps: AppPerformance[] }

// ---- App library ---------------------------------------------------------------------

export interface AppRule {
  attribute: string;
  equals?: string;
  in?: string[];
  regex?: string;
  range?: { min?: number; max?: number };
}

export interface App {
  id: string;
  name: string;
  version: string;
  vendor: string;
  intended_use: string;
  enabled: boolean;
  runner: string;
  rules: AppRule[];
  outputs: string[];
  timeout_s: number;
  max_attempts: number;
  priority: string | number;
  resources?: { threads?: number; memory_mb?: number; gpu?: boolean };
  source?: string;
  versions?: string[];
  pinned_version?: string | null;
  running_version?: string;
}

export interface AppsAnswer { apps: App[]; rejected?: unknown }

export interface AppAuditEntry { at: number; actor: string; action: string; version: string; note: string }

export interface AppJobs {
  by_state: Record<string, number>;
  median_app_ms: number | null;
  p95_app_ms: number | null;
  median_total_ms: number | null;
  p95_total_ms?: number | null;
  timed?: number;
  recent: Job[];
}

export interface AppDetail extends App {
  manifest?: Record<string, unknown>;
  jobs?: AppJobs;
  performance?: Partial<AppPerformance> | Partial<AppPerformance>[] | Record<string, unknown>;
  audit?: AppAuditEntry[];
}

// ---- Similar cases -------------------------------------------------------------------

export interface SimilarReport { id: number; status: string; impression_text: string; signed_at: number }

export interface SimilarCase {
  finding: Finding & { app_version?: string };
  patient_id: string;
  study_uid: string;
  study_date: string;
  distance: number;
  report: SimilarReport | null;
}

export interface SimilarAnswer {
  finding: Finding & { app_version?: string };
  features: string[];
  similar: SimilarCase[];
  indexed?: number;    // lesions in the index
}

// ---- Client --------------------------------------------------------------------------

const app = (id: string) => `/api/v1/apps/${enc(id)}`;

/** `{"followups": [...]}` or a bare list. */
const followupList = (r: { followups: Followup[] } | Followup[]) => (Array.isArray(r) ? r : r?.followups ?? []);

export const admin = {
  followups: (q: FollowupQuery = {}, signal?: AbortSignal) =>
    request<{ followups: Followup[] } | Followup[]>('GET', followupsUrl(q), undefined, signal).then(followupList),
  followup: (id: number, signal?: AbortSignal) =>
    request<Followup>('GET', `/api/v1/followups/${id}`, undefined, signal),
  closeFollowup: (id: number, reason: string) =>
    request<Followup>('POST', `/api/v1/followups/${id}/close`, { reason }),

  performance: (q: { app_id?: string; weeks?: number } = {}, signal?: AbortSignal) => {
    const p = new URLSearchParams();
    if (q.app_id) p.set('app_id', q.app_id);
    if (q.weeks) p.set('weeks', String(q.weeks));
    const s = p.toString();
    return request<PerformanceAnswer>('GET', `/api/v1/ai/performance${s ? `?${s}` : ''}`, undefined, signal)
      .then((r) => ({ apps: r?.apps ?? [] }));
  },

  apps: (signal?: AbortSignal) =>
    request<AppsAnswer | App[]>('GET', '/api/v1/apps', undefined, signal)
      .then((r): AppsAnswer => (Array.isArray(r) ? { apps: r } : { ...r, apps: r?.apps ?? [] })),
  app: (id: string, signal?: AbortSignal) => request<AppDetail>('GET', app(id), undefined, signal),
  appAudit: (id: string, signal?: AbortSignal) =>
    request<{ audit: AppAuditEntry[] } | AppAuditEntry[]>('GET', `${app(id)}/audit`, undefined, signal)
      .then((r) => (Array.isArray(r) ? r : r?.audit ?? [])),
  enableApp: (id: string) => request<App>('POST', `${app(id)}/enable`, {}),
  disableApp: (id: string) => request<App>('POST', `${app(id)}/disable`, {}),
  pinApp: (id: string, version: string) => request<App>('POST', `${app(id)}/pin`, { version }),
  unpinApp: (id: string) => request<App>('POST', `${app(id)}/unpin`, {}),

  similar: (findingId: number, k = 10, signal?: AbortSignal) =>
    request<SimilarAnswer>('GET', `/api/v1/findings/${findingId}/similar?k=${k}`, undefined, signal)
      .then((r): SimilarAnswer => ({ ...r, finding: r?.finding, features: r?.features ?? [], similar: r?.similar ?? [] })),
};
