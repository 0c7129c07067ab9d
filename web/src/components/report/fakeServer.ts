// Test double of radflow's report REST (docs/report-editor.md), for installFetch(): one chest
// CT template, three AI proposals, drafts with revisions (409 on a stale one), decisions, QA
// (an undecided moderate finding; "left" in the text for a right-sided nodule), signing
// (409 unless every error is acknowledged) with an SR and an HL7 delivery row, addenda.
// Only the Vitest tests use it.
import type { Call } from '../../test/fakes';
import type {
  Decision, DraftUpdate, Proposal, QaIssue, Report, ReportTemplate,
} from '../../api/report';

export const TEMPLATE: ReportTemplate = {
  id: 'ct-chest', title: 'CT chest', version: '1.0', description: 'CT of the chest',
  modalities: ['CT'], body_parts: ['CHEST'], procedure_codes: [],
  sections: [
    { id: 'technique', title: 'Technique', fields: [
      { id: 'contrast', label: 'IV contrast', type: 'boolean', unit: '', min: null, max: null, options: [], multiple: false, required: false, default: '', ai_key: '' },
      { id: 'exam_date', label: 'Comparison date', type: 'date', unit: '', min: null, max: null, options: [], multiple: false, required: false, default: '', ai_key: 'prior_date' },
    ] },
    { id: 'lungs', title: 'Lungs', fields: [
      { id: 'nodule_size', label: 'Nodule size', type: 'number', unit: 'mm', min: 0, max: 100, options: [], multiple: false, required: false, default: '', ai_key: 'size_mm' },
      { id: 'nodule_site', label: 'Nodule site', type: 'select', unit: '', min: null, max: null, multiple: false, required: false, default: '', ai_key: 'site',
        options: [
          { value: 'rul', label: 'right upper lobe', code: null },
          { value: 'lul', label: 'left upper lobe', code: null },
        ] },
      { id: 'lung_rads', label: 'Lung-RADS', type: 'code', unit: '', min: null, max: null, multiple: false, required: true, default: '', ai_key: 'lung_rads',
        options: [
          { value: '2', label: '2 benign appearance', code: { value: 'LR2', scheme: 'ACR', meaning: 'Lung-RADS 2' } },
          { value: '3', label: '3 probably benign', code: { value: 'LR3', scheme: 'ACR', meaning: 'Lung-RADS 3' } },
          { value: '4A', label: '4A suspicious', code: { value: 'LR4A', scheme: 'ACR', meaning: 'Lung-RADS 4A' } },
        ] },
      { id: 'features', label: 'Features', type: 'select', unit: '', min: null, max: null, multiple: true, required: false, default: '', ai_key: '',
        options: [
          { value: 'spiculated', label: 'spiculated', code: null },
          { value: 'calcified', label: 'calcified', code: null },
        ] },
      { id: 'laa950', label: 'Emphysema %LAA-950', type: 'number', unit: '%', min: 0, max: 100, options: [], multiple: false, required: false, default: '', ai_key: 'laa950_pct' },
    ] },
    { id: 'findings', title: 'Findings', fields: [] },
    { id: 'impression', title: 'Impression', fields: [] },
  ],
};

export const NODULE = 'Solid nodule of 8 mm in the right upper lobe (Lung-RADS 3).';
export const EMPHYSEMA = 'Centrilobular emphysema, 12 % of the lungs below −950 HU.';
export const QUALITY = 'Motion artefact limits the assessment of the lung bases.';

export function proposals(study = 's1'): Proposal[] {
  const base = { study_uid: study, sr_sop_uid: '', prior: null, decision: null, measurements: [], lung_rads: '', laterality: '', site: '' };
  return [
    { ...base, finding_id: 11, app_id: 'ct-lung-lesions', app_version: '1.4.0', kind: 'lung_nodule', section_id: 'lungs',
      sentence: NODULE, values: { nodule_size: '8', nodule_site: 'rul', lung_rads: '3' }, laterality: 'right',
      site: 'right upper lobe', lung_rads: '3', severity: 'moderate', label: 'lung nodule',
      measurements: [{ name: 'diameter', value: 8, unit: 'mm' }],
      prior: { status: 'tracked', trend: 'growing', volume_change_pct: 30, doubling_time_days: 400, interval_days: 180 } },
    { ...base, finding_id: 12, app_id: 'ct-emphysema', app_version: '2.0.1', kind: 'emphysema', section_id: 'lungs',
      sentence: EMPHYSEMA, values: { laa950: '12' }, severity: 'low', label: 'emphysema' },
    { ...base, finding_id: 13, app_id: 'ct-quality', app_version: '0.9.0', kind: 'image_quality', section_id: 'technique',
      sentence: QUALITY, values: {}, severity: 'info', label: 'motion' },
  ] as Proposal[];
}

export interface Fake {
  reports: Report[];
  proposals: Proposal[];
  decisions: Decision[];
  puts: DraftUpdate[];
  signs: unknown[];
  /** Answer PUTs with this status once (then normally). */
  failNextPut: number;
  handle: (c: Call) => { status?: number; body: unknown } | undefined;
}

let nextId = 100;

export function report(over: Partial<Report> = {}): Report {
  nextId += 1;
  return {
    id: nextId, study_uid: 's1', patient_id: 'P1', issuer_of_patient_id: '', accession_number: 'A1', version: 1,
    status: 'draft', superseded: false, origin: 'radflow', template_id: 'ct-chest',
    content: { fields: {}, sections: {} }, findings_text: '', impression_text: '', critical_communicated: '',
    author: '', signed_by: '', signed_at: 0, revision: 1, sr_sop_uid: '', sr_series_uid: '',
    created_at: Date.now() - 60_000, updated_at: Date.now() - 60_000, ...over,
  };
}

/** Byte length of a string in UTF-8 (the server's offsets). */
const utf8 = (s: string) => new TextEncoder().encode(s).length;

export function qaOf(r: Report, ps: Proposal[]): QaIssue[] {
  const out: QaIssue[] = [];
  for (const p of ps) {
    if (!p.decision && (p.severity === 'moderate' || p.severity === 'high' || p.severity === 'critical')) {
      out.push({ id: `undecided_finding:${p.finding_id}`, check: 'undecided_finding', severity: 'error',
        message: `The AI finding "${p.label}" (${p.app_id}) is neither accepted nor rejected.`,
        finding_id: p.finding_id, field: '', offset: -1, length: 0 });
    }
  }
  const text = r.findings_text;
  const i = text.indexOf('left upper lobe');
  const nodule = ps.find((p) => p.finding_id === 11);
  if (i >= 0 && nodule && nodule.decision?.decision !== 'rejected') {
    // The sentence around it, as byte offsets.
    const start = text.lastIndexOf('\n', i) + 1;
    const endNl = text.indexOf('\n', i);
    const end = endNl < 0 ? text.length : endNl;
    out.push({ id: 'laterality_mismatch:11', check: 'laterality_mismatch', severity: 'warning',
      message: 'The text says "left upper lobe"; the nodule is in the right lung.',
      finding_id: 11, field: 'findings_text', offset: utf8(text.slice(0, start)), length: utf8(text.slice(start, end)) });
  }
  return out;
}

export function fakeReportServer(init: { reports?: Report[]; proposals?: Proposal[]; study?: string } = {}): Fake {
  const study = init.study ?? 's1';
  const fake: Fake = {
    reports: init.reports ?? [], proposals: init.proposals ?? proposals(study), decisions: [], puts: [], signs: [],
    failNextPut: 0,
    handle: () => undefined,
  };
  const byId = (id: number) => fake.reports.find((r) => r.id === id);
  const withDecisions = () => fake.proposals.map((p) => ({ ...p, decision: [...fake.decisions].reverse().find((d) => d.finding_id === p.finding_id) ?? null }));
  const detail = (r: Report) => ({ ...r, proposals: r.study_uid === study ? withDecisions() : [], qa: qaOf(r, withDecisions()) });

  fake.handle = (c: Call) => {
    const reader = c.headers['X-Radflow-Reader'] ?? '';
    let m: RegExpExecArray | null;
    if (c.method === 'GET' && /^\/api\/v1\/studies\/[^/]+\/report-template$/.test(c.url)) {
      return { body: { template: TEMPLATE, rule: 'CT + CHEST → ct-chest (modality and body part)' } };
    }
    if (c.method === 'GET' && c.url === '/api/v1/report-templates') {
      return { body: { templates: [TEMPLATE, { ...TEMPLATE, id: 'ct-general', title: 'CT general', sections: [] }], rejected: [] } };
    }
    if ((m = /^\/api\/v1\/report-templates\/([^/]+)$/.exec(c.url))) {
      if (m[1] === 'ct-chest') return { body: TEMPLATE };
      if (m[1] === 'ct-general') return { body: { ...TEMPLATE, id: 'ct-general', title: 'CT general', sections: [{ id: 'findings', title: 'Findings', fields: [] }] } };
      return { status: 404, body: { error: `no template ${m[1]}` } };
    }
    if ((m = /^\/api\/v1\/studies\/([^/]+)\/reports$/.exec(c.url))) {
      const uid = decodeURIComponent(m[1]);
      const list = fake.reports.filter((r) => r.study_uid === uid).sort((a, b) => b.version - a.version || b.id - a.id);
      if (c.method === 'GET') return { body: { reports: list } };
      const open = list.find((r) => r.status === 'draft' && !r.superseded);
      if (open) return { body: open };
      const fields: Record<string, string> = {};
      for (const p of fake.proposals) Object.assign(fields, p.values);
      const r = report({ study_uid: uid, content: { fields, sections: {} }, author: reader });
      fake.reports.push(r);
      return { status: 201, body: r };
    }
    if ((m = /^\/api\/v1\/studies\/([^/]+)\/proposals$/.exec(c.url))) return { body: { proposals: withDecisions() } };
    if ((m = /^\/api\/v1\/findings\/(-?\d+)\/decision$/.exec(c.url)) && c.method === 'POST') {
      const p = fake.proposals.find((x) => x.finding_id === Number(m![1]));
      if (!p) return { status: 404, body: { error: 'no such finding' } };
      const b = c.body as { decision: Decision['decision']; reason?: string; values?: Record<string, string>; sentence?: string };
      if (b.decision === 'edited' && !b.values && !b.sentence) return { status: 400, body: { error: 'edited: values or sentence needed' } };
      const d: Decision = { id: fake.decisions.length + 1, finding_id: p.finding_id, study_uid: study, app_id: p.app_id,
        app_version: p.app_version, decision: b.decision, reason: b.reason ?? '', values: b.values ?? {},
        sentence: b.sentence ?? '', reader, at: Date.now() };
      fake.decisions.push(d);
      return { status: 201, body: d };
    }
    if ((m = /^\/api\/v1\/reports\/(\d+)(\/[a-z]+)?$/.exec(c.url))) {
      const r = byId(Number(m[1]));
      if (!r) return { status: 404, body: { error: 'no such report' } };
      const sub = m[2] ?? '';
      if (c.method === 'GET' && !sub) return { body: detail(r) };
      if (c.method === 'GET' && sub === '/qa') return { body: { issues: qaOf(r, withDecisions()) } };
      if (c.method === 'GET' && sub === '/delivery') return { body: { delivery: r.delivery ?? [] } };
      if (c.method === 'PUT' && !sub) {
        const b = c.body as DraftUpdate;
        fake.puts.push(b);
        if (fake.failNextPut) { const s = fake.failNextPut; fake.failNextPut = 0; return { status: s, body: { error: 'injected' } }; }
        if (r.status !== 'draft') return { status: 409, body: { error: `report ${r.id} is ${r.status}, not a draft` } };
        if (b.revision !== r.revision) return { status: 409, body: { error: `revision ${b.revision} is not the current ${r.revision}`, revision: r.revision } };
        Object.assign(r, { content: b.content, findings_text: b.findings_text, impression_text: b.impression_text,
          critical_communicated: b.critical_communicated, revision: r.revision + 1, updated_at: Date.now() });
        if (b.template_id) r.template_id = b.template_id;
        return { body: { revision: r.revision, updated_at: r.updated_at } };
      }
      if (c.method === 'POST' && sub === '/sign') {
        fake.signs.push(c.body);
        const b = c.body as { status: 'preliminary' | 'final'; acknowledged: string[] };
        if (!reader) return { status: 400, body: { error: 'signing needs the reader (X-Radflow-Reader)' } };
        const errors = qaOf(r, withDecisions()).filter((i) => i.severity === 'error' && !b.acknowledged.includes(i.id));
        if (errors.length) return { status: 409, body: { error: `${errors.length} QA errors not acknowledged`, issues: errors } };
        Object.assign(r, { status: b.status, signed_by: reader, signed_at: Date.now(), sr_series_uid: '1.2.9', sr_sop_uid: '1.2.9.1',
          delivery: [{ id: 1, receiver: 'ris:2575', control_id: 'C1', result_status: b.status === 'final' ? 'F' : 'P', state: 'sent',
            attempts: 1, last_error: '', created_at: Date.now(), sent_at: Date.now() }] });
        return { body: r };
      }
      if (c.method === 'POST' && sub === '/addendum') {
        if (r.status === 'draft') return { status: 409, body: { error: 'a draft has no addendum' } };
        r.superseded = true;
        const next = report({ ...r, id: undefined, version: r.version + 1, status: 'draft', superseded: false, signed_by: '',
          signed_at: 0, sr_sop_uid: '', sr_series_uid: '', revision: 1, delivery: undefined });
        next.id = nextId++ + 1000;
        fake.reports.push(next);
        return { status: 201, body: next };
      }
    }
    return undefined;
  };
  return fake;
}
