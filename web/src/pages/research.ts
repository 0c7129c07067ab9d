// The cohort builder's form and the criteria JSON of POST /api/v1/research/cohorts/preview
// (docs/research.md): only what is filled in is sent (the server ANDs what it gets).
import type { Criteria, DeidOptions } from '../api/security';

export interface FeatureRow { name: string; min: string; max: string }

export interface CohortForm {
  modality: string;        // "CT, MR"
  body_part: string;       // "CHEST"
  date_from: string;       // YYYY-MM-DD (input type=date)
  date_to: string;
  manufacturer: string;
  model: string;
  finding_type: string;
  min_size_mm: string;
  max_size_mm: string;
  severity: string;
  features: FeatureRow[];
}

export const EMPTY_FORM: CohortForm = {
  modality: '', body_part: '', date_from: '', date_to: '', manufacturer: '', model: '',
  finding_type: '', min_size_mm: '', max_size_mm: '', severity: '', features: [],
};

export const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'];

/** IBSI feature names offered in the feature rows (any other name may be typed). */
export const FEATURE_SUGGESTIONS = [
  'morph_volume', 'morph_area_mesh', 'morph_sphericity', 'morph_diam_max', 'stat_mean', 'stat_var', 'stat_skew',
  'stat_kurt', 'stat_min', 'stat_max', 'ih_entropy', 'cm_contrast', 'cm_joint_entr', 'rlm_sre', 'szm_sze',
];

const list = (s: string) => s.split(/[,\s]+/).map((x) => x.trim().toUpperCase()).filter(Boolean);
const num = (s: string): number | undefined => {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};
const dicomDate = (ymd: string) => (/^\d{4}-\d{2}-\d{2}$/.test(ymd) ? ymd.replace(/-/g, '') : '');

/** What is wrong with the form (a number that is not one, min above max), or "". */
export function formProblem(f: CohortForm): string {
  const pairs: [string, string, string][] = [[f.min_size_mm, f.max_size_mm, 'finding size']];
  for (const r of f.features) pairs.push([r.min, r.max, r.name || 'feature']);
  for (const [lo, hi, what] of pairs) {
    if (lo.trim() && num(lo) === undefined) return `${what}: "${lo}" is not a number`;
    if (hi.trim() && num(hi) === undefined) return `${what}: "${hi}" is not a number`;
    const a = num(lo);
    const b = num(hi);
    if (a !== undefined && b !== undefined && a > b) return `${what}: the minimum is above the maximum`;
  }
  if (f.date_from && f.date_to && f.date_from > f.date_to) return 'the first date is after the last';
  for (const r of f.features) {
    if (!r.name.trim() && (r.min.trim() || r.max.trim())) return 'a feature range needs the feature name';
  }
  return '';
}

export function criteriaOf(f: CohortForm): Criteria {
  const c: Criteria = {};
  const modality = list(f.modality);
  if (modality.length) c.modality = modality;
  const body = list(f.body_part);
  if (body.length) c.body_part = body;
  if (dicomDate(f.date_from)) c.study_date_from = dicomDate(f.date_from);
  if (dicomDate(f.date_to)) c.study_date_to = dicomDate(f.date_to);
  if (f.manufacturer.trim()) c.manufacturer = f.manufacturer.trim();
  if (f.model.trim()) c.model = f.model.trim();
  const finding: NonNullable<Criteria['finding']> = {};
  if (f.finding_type.trim()) finding.type = f.finding_type.trim();
  const lo = num(f.min_size_mm);
  const hi = num(f.max_size_mm);
  if (lo !== undefined) finding.min_size_mm = lo;
  if (hi !== undefined) finding.max_size_mm = hi;
  if (f.severity) finding.severity = f.severity;
  if (Object.keys(finding).length) c.finding = finding;
  const features = f.features
    .filter((r) => r.name.trim() && (num(r.min) !== undefined || num(r.max) !== undefined))
    .map((r) => ({ name: r.name.trim(), ...(num(r.min) !== undefined ? { min: num(r.min) } : {}), ...(num(r.max) !== undefined ? { max: num(r.max) } : {}) }));
  if (features.length) c.features = features;
  return c;
}

/** The form of saved criteria (a cohort loaded back into the builder). */
export function formOf(c: Criteria): CohortForm {
  const day = (d?: string) => (d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : '');
  const s = (n?: number) => (n === undefined || n === null ? '' : String(n));
  return {
    modality: (c.modality ?? []).join(', '), body_part: (c.body_part ?? []).join(', '),
    date_from: day(c.study_date_from), date_to: day(c.study_date_to),
    manufacturer: c.manufacturer ?? '', model: c.model ?? '',
    finding_type: c.finding?.type ?? '', min_size_mm: s(c.finding?.min_size_mm), max_size_mm: s(c.finding?.max_size_mm),
    severity: c.finding?.severity ?? '',
    features: (c.features ?? []).map((r) => ({ name: r.name, min: s(r.min), max: s(r.max) })),
  };
}

/**
 * The Basic Profile alone (every option off): the least that leaves. The Retain options keep
 * more; the Clean options keep descriptors, SR content and graphics after cleaning them
 * (the Basic Profile removes them); Clean Pixel Data masks burned-in text.
 */
export const DEFAULT_OPTIONS: DeidOptions = {
  retain_dates: false, retain_patient_chars: false, retain_device: false, clean_descriptors: false,
  clean_structured: false, clean_graphics: false, clean_pixels: false,
};

/** 0..100, or null while the total is unknown. */
export function percent(done: number, total: number): number | null {
  if (!total || total < 0) return null;
  return Math.max(0, Math.min(100, Math.round((done / total) * 100)));
}
