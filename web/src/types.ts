// The shapes of radflow's REST answers (docs/worklist.md, docs/architecture.md "AI engine").

export type ItemState = 'unread' | 'in_progress' | 'preliminary' | 'final' | 'cancelled';
export type Severity = 'critical' | 'high' | 'moderate' | 'low' | 'info';
export type AiFlag = Severity | 'none';

export interface WorklistItem {
  study_uid: string;
  accession_number: string;
  study_date: string;
  study_time: string;
  study_description: string;
  patient_id: string;
  issuer_of_patient_id: string;
  patient_name: string;
  birth_date: string;
  sex: string;
  modalities: string;
  body_part: string;
  site: string;
  referring_physician: string;
  order_priority: string;
  state: ItemState;
  reader: string;
  claimed_at: number;
  claim_expires_at: number;
  arrived_at: number;
  completed_at: number;
  reported_at: number;
  read_started_at: number;
  waiting_ms: number;
  tat_ms: number;
  ai_flag: AiFlag;
  ai_pending: number | boolean;
  priority_score: number;
  priority_reasons: string[] | string;
  num_series: number;
  num_instances: number;
}

export interface WorklistPage {
  total: number;
  items: WorklistItem[];
  now: number;
}

export interface AuditEntry {
  at: number;
  reader: string;
  action: string;
  from: string;
  to: string;
  note: string;
}

export interface WorklistItemWithAudit extends WorklistItem {
  audit: AuditEntry[];
}

export interface Series {
  series_uid: string;
  modality: string;
  series_number: number | string;
  series_description: string;
  body_part: string;
  num_instances: number;
  first_sop_uid: string;
}

/** GET /api/v1/studies/{uid}/conformance (docs/wsi.md): the IOD check of every stored instance. */
export interface InstanceConformance {
  series_instance_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  iod?: string;  // the IOD checked against ("" when only the common modules are)
  problems: string[];
}

export interface ConformanceReport {
  study_instance_uid?: string;
  instances: InstanceConformance[];
}

export interface StudyDetail {
  study: WorklistItem;
  series: Series[];
}

export interface Finding {
  id: number;
  job_id: number;
  app_id: string;
  study_uid: string;
  series_uid: string;
  type?: { value: string; scheme: string; meaning: string };
  label: string;
  center_lps_mm?: number[];
  size_mm: number;
  volume_ml: number;
  score: number;
  severity: Severity;
  details: Record<string, unknown>;
  created_at: number;
}

export interface Job {
  id: number;
  app_id: string;
  app_version: string;
  study_uid: string;
  series_uid: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  priority: number;
  attempts: number;
  max_attempts: number;
  created_at: number;
  started_at: number;
  finished_at: number;
  duration_ms?: number;
  error: string;
  summary: string;
}

export interface Prior {
  study_uid: string;
  study_date: string;
  modalities: string;
  body_part: string;
  study_description: string;
  score: number;
  reasons: string[] | string;
  local: boolean;
}

export interface PriorsAnswer {
  current: Partial<Prior>;
  priors: Prior[];
}

export interface TrackedLesion {
  tracking_uid: string;
  tracking_id: string;
  status: 'new' | 'resolved' | 'tracked';
  current?: Partial<Finding> | null;
  prior?: Partial<Finding> | null;
  volume_change_pct?: number | null;
  diameter_change_mm?: number | null;
  doubling_time_days?: number | null;
  trend?: string;
  distance_mm?: number | null;
}

/** GET /api/v1/studies/{uid}/lesions: the follow-up against the most relevant prior. */
export interface LesionFollowUp {
  study_uid?: string;
  prior_study_uid?: string | null;
  state?: string;           // none | ... (the follow-up's progress)
  error?: string;
  interval_days?: number | null;
  lesions: TrackedLesion[];
}

export interface WorklistEvent {
  study_uid: string;
  reason: string;
}
