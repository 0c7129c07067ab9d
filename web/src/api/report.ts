// Typed client of radflow's report REST (docs/report-editor.md): templates, reports (drafts,
// autosave, QA, signing, addenda, delivery) and the AI proposals with their decisions.
// Same origin, relative URLs; every call names the reader (X-Radflow-Reader, via request()).
import { request } from '../api';

const enc = encodeURIComponent;

// --- templates -----------------------------------------------------------------------------

export type FieldType = 'text' | 'number' | 'select' | 'code' | 'date' | 'boolean';

export interface CodedValue { value: string; scheme: string; meaning: string }

export interface FieldOption {
  value: string;
  label: string;
  code: CodedValue | null;
}

export interface TemplateField {
  id: string;
  label: string;
  type: FieldType;
  unit: string;
  min: number | null;
  max: number | null;
  options: FieldOption[];
  multiple: boolean;
  required: boolean;
  default: string;
  ai_key: string;
}

export interface TemplateSection {
  id: string;
  title: string;
  fields: TemplateField[];
}

export interface ReportTemplate {
  id: string;
  title: string;
  version: string;
  description: string;
  modalities: string[];
  body_parts: string[];
  procedure_codes: string[];
  sections: TemplateSection[];
}

export interface TemplateSummary {
  id: string;
  title: string;
  version: string;
  modalities: string[];
  body_parts: string[];
  procedure_codes: string[];
}

export interface TemplateList {
  templates: TemplateSummary[];
  rejected: { file: string; error: string }[];
}

export interface TemplateChoice {
  template: ReportTemplate | null;
  rule: string;
}

// --- reports -------------------------------------------------------------------------------

export type ReportStatus = 'draft' | 'preliminary' | 'final';

/** A field's value as stored in the editor's document: text, or a list for a multiple select. */
export type FieldValue = string | string[];

/** `content` of a report: the editor's document, stored verbatim by the server. */
export interface ReportContent {
  fields: Record<string, FieldValue>;
  sections: Record<string, string>;
}

export interface Delivery {
  id: number;
  receiver: string;
  control_id: string;
  result_status: string;
  state: string;
  attempts: number;
  last_error: string;
  created_at: number;
  sent_at: number;
}

export interface Report {
  id: number;
  study_uid: string;
  patient_id: string;
  issuer_of_patient_id: string;
  accession_number: string;
  version: number;
  status: ReportStatus;
  superseded: boolean;
  origin: 'radflow' | 'hl7' | 'rest' | string;
  template_id: string;
  content: Partial<ReportContent> | null;
  findings_text: string;
  impression_text: string;
  critical_communicated: string;
  author: string;
  signed_by: string;
  signed_at: number;
  revision: number;
  sr_sop_uid: string;
  sr_series_uid: string;
  created_at: number;
  updated_at: number;
  delivery?: Delivery[];
}

export interface Measurement { name: string; value: number; unit: string }

export interface PriorChange {
  prior_study_uid?: string;
  status?: string;
  trend?: string;
  interval_days?: number;
  volume_change_pct?: number;
  diameter_change_mm?: number;
  doubling_time_days?: number | null;
}

export type DecisionKind = 'accepted' | 'edited' | 'rejected';

export interface Decision {
  id: number;
  finding_id: number;
  study_uid: string;
  app_id: string;
  app_version: string;
  decision: DecisionKind;
  reason: string;
  values: Record<string, string>;
  sentence: string;
  reader: string;
  at: number;
}

export interface Proposal {
  finding_id: number;
  app_id: string;
  app_version: string;
  kind: 'lung_nodule' | 'emphysema' | 'haemorrhage' | 'image_quality' | 'other' | string;
  section_id: string;
  sentence: string;
  values: Record<string, string>;
  laterality: string;
  site: string;
  lung_rads: string;
  severity: string;
  label: string;
  measurements: Measurement[];
  prior: PriorChange | null;
  sr_sop_uid: string;
  decision: Decision | null;
}

export interface QaIssue {
  id: string;
  check: string;
  severity: 'error' | 'warning' | string;
  message: string;
  finding_id: number | null;
  field: string;
  offset: number;
  length: number;
}

export interface ReportDetail extends Report {
  proposals: Proposal[];
  qa: QaIssue[];
}

/** The body of an autosave (PUT /api/v1/reports/{id}). */
export interface DraftUpdate {
  revision: number;
  content: ReportContent;
  findings_text: string;
  impression_text: string;
  critical_communicated: string;
  template_id?: string;
}

export interface DecisionRequest {
  decision: DecisionKind;
  reason?: string;
  values?: Record<string, string>;
  sentence?: string;
  study_uid?: string;
}

export interface SignRequest {
  status: 'preliminary' | 'final';
  acknowledged: string[];
}

const report = (id: number) => `/api/v1/reports/${id}`;

export const reportApi = {
  templates: (signal?: AbortSignal) => request<TemplateList>('GET', '/api/v1/report-templates', undefined, signal),
  template: (id: string, signal?: AbortSignal) =>
    request<ReportTemplate>('GET', `/api/v1/report-templates/${enc(id)}`, undefined, signal),
  studyTemplate: (uid: string, signal?: AbortSignal) =>
    request<TemplateChoice>('GET', `/api/v1/studies/${enc(uid)}/report-template`, undefined, signal),

  studyReports: (uid: string, signal?: AbortSignal) =>
    request<{ reports: Report[] }>('GET', `/api/v1/studies/${enc(uid)}/reports`, undefined, signal)
      .then((r) => r?.reports ?? []),
  /** A new pre-filled draft (201) or the study's open draft (200). */
  createDraft: (uid: string, templateId?: string) =>
    request<Report>('POST', `/api/v1/studies/${enc(uid)}/reports`, templateId ? { template_id: templateId } : {}),
  get: (id: number, signal?: AbortSignal) => request<ReportDetail>('GET', report(id), undefined, signal),
  save: (id: number, body: DraftUpdate) =>
    request<{ revision: number; updated_at: number }>('PUT', report(id), body),
  qa: (id: number, signal?: AbortSignal) =>
    request<{ issues: QaIssue[] }>('GET', `${report(id)}/qa`, undefined, signal).then((r) => r?.issues ?? []),
  sign: (id: number, body: SignRequest) => request<Report>('POST', `${report(id)}/sign`, body),
  addendum: (id: number) => request<Report>('POST', `${report(id)}/addendum`, {}),
  delivery: (id: number, signal?: AbortSignal) =>
    request<{ delivery: Delivery[] }>('GET', `${report(id)}/delivery`, undefined, signal).then((r) => r?.delivery ?? []),

  proposals: (uid: string, signal?: AbortSignal) =>
    request<{ proposals: Proposal[] }>('GET', `/api/v1/studies/${enc(uid)}/proposals`, undefined, signal)
      .then((r) => r?.proposals ?? []),
  decide: (findingId: number, body: DecisionRequest) =>
    request<Decision>('POST', `/api/v1/findings/${findingId}/decision`, body),
};

/** Where a signed report's DICOM SR can be fetched (DICOMweb WADO-RS, the whole instance). */
export function srUrl(r: Pick<Report, 'study_uid' | 'sr_series_uid' | 'sr_sop_uid'>): string {
  if (!r.sr_sop_uid || !r.sr_series_uid) return '';
  return `/dicom-web/studies/${enc(r.study_uid)}/series/${enc(r.sr_series_uid)}/instances/${enc(r.sr_sop_uid)}`;
}

/** The signed report as a FHIR R4 DiagnosticReport. */
export function fhirUrl(r: Pick<Report, 'id'>): string {
  return `/api/v1/fhir/DiagnosticReport/${r.id}`;
}
