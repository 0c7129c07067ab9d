// Typed client of the security REST of issue 18 (docs/web-security.md): the signed-in user,
// sign-out, users and API tokens (administrator), the audit trail (administrator) and the
// research hub (researcher, administrator). Same origin; the session cookie goes with every
// call (../api request()); a 401 sends the page to /login.
import { request, requestText } from '../api';

const enc = encodeURIComponent;

export const ROLES = ['administrator', 'radiologist', 'technologist', 'referring', 'researcher', 'ai-service'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  user: string;
  role: Role | string;
  display_name: string;
  method: string;            // "session" | "token" | "oidc-bearer" | "oidc-session"
  referring_name: string;
}

export interface User {
  name: string;
  role: Role | string;
  display_name: string;
  referring_name: string;
  disabled: boolean;
  locked_until: string | number | null;
  created_at: string | number | null;
  last_login: string | number | null;
}

export interface NewUser { name: string; role: string; password: string; display_name?: string; referring_name?: string }
export interface UserChange { role?: string; disabled?: boolean; password?: string; display_name?: string; referring_name?: string }

export interface ApiToken {
  id: string | number;
  user: string;
  label: string;
  created_at: string | number | null;
  expires_at: string | number | null;
  last_used: string | number | null;
  revoked: boolean;
}

export interface CreatedToken { id: string | number; token: string; expires_at: string | number | null }

// ---- audit ----------------------------------------------------------------------------

export interface AuditRecord {
  seq: number;
  at: string | number;
  event: string;
  event_id: string;
  action: string;
  outcome: string;           // "success" | "failure" (or the DICOM outcome code)
  user: string;
  role: string;
  source: string;
  patient_id: string;
  patient_name: string;
  study_uid: string;
  detail: string;
  interface: string;
}

export interface AuditQuery {
  user?: string; event?: string; patient?: string; study?: string;
  since?: string; until?: string; outcome?: '' | 'success' | 'failure';
  limit?: number; offset?: number;
}

export interface AuditPage { records: AuditRecord[]; total: number }
export interface AuditVerify { ok: boolean; records: number; first_bad_seq: number | null; message: string }

export function auditUrl(q: AuditQuery): string {
  const p = new URLSearchParams();
  for (const k of ['user', 'event', 'patient', 'study', 'since', 'until', 'outcome'] as const) {
    const v = q[k];
    if (v) p.set(k, v);
  }
  if (q.limit) p.set('limit', String(q.limit));
  if (q.offset) p.set('offset', String(q.offset));
  const s = p.toString();
  return `/api/v1/audit${s ? `?${s}` : ''}`;
}

// ---- research -------------------------------------------------------------------------

export interface FeatureRange { name: string; min?: number; max?: number }

export interface Criteria {
  modality?: string[];
  body_part?: string[];
  study_date_from?: string;   // YYYYMMDD
  study_date_to?: string;
  manufacturer?: string;
  model?: string;
  finding?: { type?: string; min_size_mm?: number; max_size_mm?: number; severity?: string };
  features?: FeatureRange[];
}

export interface Counts { patients: number; studies: number; series: number; instances: number; lesions: number }

export interface Cohort {
  name: string;
  version: number;
  description: string;
  created_by: string;
  created_at: string | number;
  counts: Counts;
}

export interface CohortDetail { name: string; version: number; criteria: Criteria; counts: Counts; versions: unknown[] }

export const DEID_OPTIONS = [
  ['retain_dates', 'Retain longitudinal temporal information (modified dates)'],
  ['retain_patient_chars', 'Retain patient characteristics'],
  ['retain_device', 'Retain device identity'],
  ['clean_descriptors', 'Clean descriptors'],
  ['clean_structured', 'Clean structured content'],
  ['clean_graphics', 'Clean graphics'],
  ['clean_pixels', 'Clean pixel data (burned-in text)'],
] as const;
export type DeidOption = (typeof DEID_OPTIONS)[number][0];
export type DeidOptions = Record<DeidOption, boolean>;

export const EXPORT_FORMATS = [['dicom', 'DICOM'], ['nifti', 'NIfTI (images and masks)'], ['csv', 'CSV (findings, features)']] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number][0];

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ExportJob {
  id: string | number;
  cohort: string;
  version: number;
  status: ExportStatus;
  done: number;
  total: number;
  error: string;
  manifest?: unknown;
}

export function exportDownloadUrl(id: string | number): string {
  return `/api/v1/research/exports/${enc(String(id))}/download`;
}

// ---- client ---------------------------------------------------------------------------

const list = <T,>(key: string) => (r: unknown): T[] =>
  (Array.isArray(r) ? r : ((r as Record<string, unknown> | null)?.[key] as T[] | undefined) ?? []) as T[];

export const security = {
  me: (signal?: AbortSignal) => request<Identity>('GET', '/api/v1/auth/me', undefined, signal),
  logout: () => request<null>('POST', '/api/v1/auth/logout', {}),

  users: (signal?: AbortSignal) => request<unknown>('GET', '/api/v1/users', undefined, signal).then(list<User>('users')),
  createUser: (u: NewUser) => request<User>('POST', '/api/v1/users', u),
  changeUser: (name: string, change: UserChange) => request<User>('POST', `/api/v1/users/${enc(name)}`, change),
  unlockUser: (name: string) => request<User>('POST', `/api/v1/users/${enc(name)}/unlock`, {}),

  tokens: (signal?: AbortSignal) => request<unknown>('GET', '/api/v1/tokens', undefined, signal).then(list<ApiToken>('tokens')),
  createToken: (t: { user?: string; days?: number; label?: string }) => request<CreatedToken>('POST', '/api/v1/tokens', t),
  revokeToken: (id: string | number) => request<null>('DELETE', `/api/v1/tokens/${enc(String(id))}`),

  audit: (q: AuditQuery, signal?: AbortSignal) =>
    request<AuditPage>('GET', auditUrl(q), undefined, signal)
      .then((r): AuditPage => ({ records: r?.records ?? [], total: r?.total ?? 0 })),
  auditXml: (seq: number, signal?: AbortSignal) => requestText(`/api/v1/audit/${seq}`, signal),
  auditVerify: (signal?: AbortSignal) => request<AuditVerify>('GET', '/api/v1/audit/verify', undefined, signal),

  preview: (criteria: Criteria, signal?: AbortSignal) =>
    request<Counts>('POST', '/api/v1/research/cohorts/preview', { criteria }, signal),
  cohorts: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/v1/research/cohorts', undefined, signal).then(list<Cohort>('cohorts')),
  cohort: (name: string, version?: number, signal?: AbortSignal) =>
    request<CohortDetail>('GET', `/api/v1/research/cohorts/${enc(name)}${version ? `?version=${version}` : ''}`, undefined, signal),
  saveCohort: (name: string, criteria: Criteria, description = '') =>
    request<{ name: string; version: number; counts: Counts }>('POST', '/api/v1/research/cohorts',
      description ? { name, description, criteria } : { name, criteria }),
  startExport: (body: { cohort: string; version?: number; options: DeidOptions; formats: ExportFormat[] }) =>
    request<{ id: string | number; status: ExportStatus }>('POST', '/api/v1/research/exports', body),
  exports: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/v1/research/exports', undefined, signal).then(list<ExportJob>('exports')),
  exportJob: (id: string | number, signal?: AbortSignal) =>
    request<ExportJob>('GET', `/api/v1/research/exports/${enc(String(id))}`, undefined, signal),
};
