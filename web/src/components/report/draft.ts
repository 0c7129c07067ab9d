// The report editor's document and the pure rules around it: what an autosave sends, the
// browser's own copy of an unsaved draft (and when it wins over the server's), inserting
// accepted AI sentences into the findings text, and QA offsets (UTF-8 bytes) as text indices.
import type {
  DraftUpdate, FieldValue, Proposal, Report, ReportContent, ReportTemplate, TemplateField,
  TemplateSection,
} from '../../api/report';

/** What the radiologist edits: `content` (fields, free text per section) and the texts. */
export interface Doc {
  template_id: string;
  fields: Record<string, FieldValue>;
  sections: Record<string, string>;
  findings_text: string;
  impression_text: string;
  critical_communicated: string;
}

export type TextKey = 'findings_text' | 'impression_text';

export const EMPTY_DOC: Doc = {
  template_id: '', fields: {}, sections: {}, findings_text: '', impression_text: '', critical_communicated: '',
};

function stringMap<T>(v: unknown, keep: (x: unknown) => x is T): Record<string, T> {
  const out: Record<string, T> = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (keep(x)) out[k] = x;
  return out;
}
const isFieldValue = (x: unknown): x is FieldValue =>
  typeof x === 'string' || (Array.isArray(x) && x.every((e) => typeof e === 'string'));
const isString = (x: unknown): x is string => typeof x === 'string';

/** The editor's document of a report as the server holds it (numbers and booleans as text). */
export function docFromReport(r: Pick<Report, 'template_id' | 'content' | 'findings_text' | 'impression_text' | 'critical_communicated'>): Doc {
  const rawFields = (r.content?.fields ?? {}) as Record<string, unknown>;
  const fields: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(rawFields && typeof rawFields === 'object' ? rawFields : {})) {
    if (isFieldValue(v)) fields[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
  }
  // A field named like a report text is that text (the server may pre-fill the template's
  // default into the field): kept once, as the text.
  const asText = (k: 'findings_text' | 'impression_text') => {
    const f = fields[k];
    delete fields[k];
    return r[k] || (typeof f === 'string' ? f : '');
  };
  const findings = asText('findings_text');
  const impression = asText('impression_text');
  return {
    template_id: r.template_id ?? '',
    fields,
    sections: stringMap(r.content?.sections, isString),
    findings_text: findings ?? '',
    impression_text: impression ?? '',
    critical_communicated: r.critical_communicated ?? '',
  };
}

export function docContent(d: Doc): ReportContent {
  return { fields: d.fields, sections: d.sections };
}

/** The body of the autosave PUT for `doc` on top of `revision`. */
export function updateBody(doc: Doc, revision: number): DraftUpdate {
  const body: DraftUpdate = {
    revision,
    content: docContent(doc),
    findings_text: doc.findings_text,
    impression_text: doc.impression_text,
    critical_communicated: doc.critical_communicated,
  };
  if (doc.template_id) body.template_id = doc.template_id;
  return body;
}

function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  const norm = (v: FieldValue | undefined) => (Array.isArray(v) ? v.join('\u0000') : v ?? '');
  return norm(a) === norm(b);
}

export function docEqual(a: Doc, b: Doc): boolean {
  if (a.template_id !== b.template_id || a.findings_text !== b.findings_text ||
      a.impression_text !== b.impression_text || a.critical_communicated !== b.critical_communicated) return false;
  for (const k of new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])) {
    if (!sameValue(a.fields[k], b.fields[k])) return false;
  }
  for (const k of new Set([...Object.keys(a.sections), ...Object.keys(b.sections)])) {
    if ((a.sections[k] ?? '') !== (b.sections[k] ?? '')) return false;
  }
  return true;
}

// --- the browser's copy of the draft --------------------------------------------------------

/** Kept in localStorage on every change; removed once the server has that exact document. */
export interface LocalCopy {
  v: 1;
  report_id: number;
  study_uid: string;
  revision: number;    // the server revision the edits were made on
  saved_at: number;    // when the browser wrote it (ms)
  doc: Doc;
}

export const localKey = (reportId: number) => `radflow.report-draft.${reportId}`;

export function readLocal(reportId: number, storage: Storage | null = safeStorage()): LocalCopy | null {
  if (!storage) return null;
  try {
    const raw = storage.getItem(localKey(reportId));
    if (!raw) return null;
    const c = JSON.parse(raw) as LocalCopy;
    if (!c || c.v !== 1 || c.report_id !== reportId || !c.doc) return null;
    return { ...c, doc: { ...EMPTY_DOC, ...c.doc } };
  } catch {
    return null;
  }
}

export function writeLocal(copy: LocalCopy, storage: Storage | null = safeStorage()): boolean {
  if (!storage) return false;
  try {
    storage.setItem(localKey(copy.report_id), JSON.stringify(copy));
    return true;
  } catch {
    return false;  // full or private mode: the server copy is all there is
  }
}

export function clearLocal(reportId: number, storage: Storage | null = safeStorage()): void {
  try { storage?.removeItem(localKey(reportId)); } catch { /* ignore */ }
}

function safeStorage(): Storage | null {
  try { return typeof localStorage === 'undefined' ? null : localStorage; } catch { return null; }
}

/** A unix time in ms whether the server sent ms or seconds. */
export function asMs(t: number | null | undefined): number {
  if (!t || !Number.isFinite(t)) return 0;
  return t < 1e11 ? t * 1000 : t;
}

/**
 * Whether the browser's copy should replace the server's draft on opening: it differs, and it
 * is newer — made on the server's current revision (or a later one the server lost), or
 * written after the server's last change.
 */
export function localWins(local: LocalCopy | null, server: Pick<Report, 'revision' | 'updated_at' | 'status'>, serverDoc: Doc): boolean {
  if (!local || server.status !== 'draft') return false;
  if (docEqual(local.doc, serverDoc)) return false;
  return local.revision >= server.revision || local.saved_at > asMs(server.updated_at);
}

// --- text -----------------------------------------------------------------------------------

/**
 * `sentence` added to `text` as its own line (after what is there); `text` itself when it
 * already says exactly that.
 */
export function insertSentence(text: string, sentence: string): string {
  const s = sentence.trim();
  if (!s) return text;
  if (text.includes(s)) return text;
  const body = text.replace(/\s+$/, '');
  return body ? `${body}\n${s}` : s;
}

/** `before` replaced by `after` in `text` where it is; else `after` inserted. */
export function replaceSentence(text: string, before: string, after: string): string {
  const b = before.trim();
  const a = after.trim();
  if (b && b !== a && text.includes(b)) return a ? text.replace(b, a) : removeSentence(text, b);
  return insertSentence(text, a);
}

/** `sentence` taken out of `text` (with the line break that separated it). */
export function removeSentence(text: string, sentence: string): string {
  const s = sentence.trim();
  if (!s || !text.includes(s)) return text;
  const i = text.indexOf(s);
  let start = i;
  let end = i + s.length;
  if (text[end] === '\n') end += 1;
  else if (start > 0 && text[start - 1] === '\n') start -= 1;
  else if (text[end] === ' ') end += 1;
  return text.slice(0, start) + text.slice(end);
}

/** The UTF-16 index (what a textarea counts) of a UTF-8 byte offset into `text`. */
export function utf8ToIndex(text: string, byteOffset: number): number {
  if (byteOffset <= 0) return 0;
  let bytes = 0;
  let i = 0;
  while (i < text.length && bytes < byteOffset) {
    const cp = text.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

/** The [start, end) text range of a QA issue's UTF-8 (offset, length). */
export function issueRange(text: string, offset: number, length: number): [number, number] | null {
  if (offset < 0) return null;
  const start = utf8ToIndex(text, offset);
  const end = utf8ToIndex(text, offset + Math.max(0, length));
  return [Math.min(start, text.length), Math.min(end, text.length)];
}

// --- template and proposals -----------------------------------------------------------------

/** A template field that is one of the report's texts (MRRT templates name their
 *  findings and impression textareas `findings_text` and `impression_text`). */
export function fieldText(field: Pick<TemplateField, 'id'>): TextKey | null {
  return field.id === 'findings_text' || field.id === 'impression_text' ? field.id : null;
}

/** The report text a section's free text is (by its id or title), field bindings aside. */
export function sectionText(section: Pick<TemplateSection, 'id' | 'title'>): TextKey | null {
  const id = section.id.toLowerCase();
  const title = section.title.toLowerCase();
  if (id === 'findings' || title === 'findings') return 'findings_text';
  if (id === 'impression' || id === 'conclusion' || title === 'impression' || title === 'conclusion') return 'impression_text';
  return null;
}

/** Where the editor shows each report text: as a template field, at the end of a section,
 *  or (`missing`) after the template's sections. */
export interface TextPlaces {
  field: Set<TextKey>;                 // a field of that id stands for it
  section: Map<string, TextKey[]>;     // section id → texts shown at its end
  missing: TextKey[];
}

export function textPlaces(template: ReportTemplate | null): TextPlaces {
  const out: TextPlaces = { field: new Set(), section: new Map(), missing: [] };
  const sections = template?.sections ?? [];
  for (const s of sections) for (const f of s.fields) { const k = fieldText(f); if (k) out.field.add(k); }
  for (const key of ['findings_text', 'impression_text'] as TextKey[]) {
    if (out.field.has(key)) continue;
    const host = sections.find((s) => sectionText(s) === key);
    if (host) out.section.set(host.id, [...(out.section.get(host.id) ?? []), key]);
    else out.missing.push(key);
  }
  return out;
}

/** A section gets a free-text box of its own unless a text field or a report text is there. */
export function sectionHasFreeText(section: TemplateSection, places: TextPlaces): boolean {
  return !places.section.has(section.id) && !section.fields.some((f) => f.type === 'text' || fieldText(f));
}

/** The texts a template leaves without a place: they are shown after its sections. */
export function missingTexts(template: ReportTemplate | null): TextKey[] {
  return textPlaces(template).missing;
}

export function findField(template: ReportTemplate | null, id: string): TemplateField | null {
  for (const s of template?.sections ?? []) for (const f of s.fields) if (f.id === id) return f;
  return null;
}

export function fieldDefaults(template: ReportTemplate | null): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const s of template?.sections ?? []) {
    for (const f of s.fields) if (f.default) out[f.id] = f.multiple ? f.default.split(',').map((x) => x.trim()).filter(Boolean) : f.default;
  }
  return out;
}

/** A proposal's value as the field stores it (a multiple select keeps a list). */
export function fieldValueOf(field: TemplateField | null, value: string): FieldValue {
  if (field?.multiple) return value.split(/[|,]/).map((x) => x.trim()).filter(Boolean);
  return value;
}

export function valueText(v: FieldValue | undefined): string {
  return Array.isArray(v) ? v.join(', ') : v ?? '';
}

/** `fields` with a proposal's (or a decision's) values set. */
export function applyValues(template: ReportTemplate | null, fields: Record<string, FieldValue>,
                            values: Record<string, string>): Record<string, FieldValue> {
  const out = { ...fields };
  for (const [k, v] of Object.entries(values)) out[k] = fieldValueOf(findField(template, k), v);
  return out;
}

/** `fields` without the values a rejected proposal put there (those changed since stay). */
export function withdrawValues(template: ReportTemplate | null, fields: Record<string, FieldValue>,
                               values: Record<string, string>): Record<string, FieldValue> {
  const out = { ...fields };
  for (const [k, v] of Object.entries(values)) {
    if (sameValue(out[k], fieldValueOf(findField(template, k), v))) {
      const d = findField(template, k)?.default ?? '';
      if (d) out[k] = fieldValueOf(findField(template, k), d);
      else delete out[k];
    }
  }
  return out;
}

export function isUndecided(p: Proposal): boolean {
  return !p.decision;
}

/** Field ids whose value is still the one an undecided AI proposal put there. */
export function aiProposedFields(template: ReportTemplate | null, fields: Record<string, FieldValue>,
                                 proposals: Proposal[]): Map<string, Proposal> {
  const out = new Map<string, Proposal>();
  for (const p of proposals) {
    if (!isUndecided(p)) continue;
    for (const [k, v] of Object.entries(p.values ?? {})) {
      if (fields[k] !== undefined && sameValue(fields[k], fieldValueOf(findField(template, k), v))) out.set(k, p);
    }
  }
  return out;
}

/** The sentence a decided proposal put into the report ('' for a rejection). */
export function decidedSentence(p: Proposal): string {
  if (!p.decision || p.decision.decision === 'rejected') return '';
  return p.decision.sentence || p.sentence;
}

/** Lung lesions and bleeds have similar cases. */
export function hasSimilarCases(p: Proposal | null | undefined): boolean {
  if (!p || p.finding_id <= 0) return false;
  return p.kind === 'lung_nodule' || p.kind === 'haemorrhage';
}

export function appName(p: Pick<Proposal, 'app_id' | 'app_version'>): string {
  return p.app_version ? `${p.app_id} ${p.app_version}` : p.app_id;
}

/** The values of the proposals a radiologist has accepted or edited (as decided). */
function confirmedValues(p: Proposal): Record<string, string> {
  const d = p.decision;
  if (!d || d.decision === 'rejected') return {};
  return { ...(p.values ?? {}), ...(d.values ?? {}) };
}

/** Whether field `k` holds a value an accepted or edited proposal (other than `p`) confirmed. */
function confirmedElsewhere(template: ReportTemplate | null, fields: Record<string, FieldValue>, k: string,
                            p: Proposal, others: Proposal[]): boolean {
  return others.some((q) => q.finding_id !== p.finding_id && k in confirmedValues(q) &&
    sameValue(fields[k], fieldValueOf(findField(template, k), confirmedValues(q)[k])));
}

/**
 * The document after a decision on `p` (as it was before the decision): an accepted or edited
 * proposal puts its sentence into the findings text (replacing what an earlier decision put
 * there) and its values into the fields; a rejected one takes both out again. `others` are
 * the study's proposals with their decisions: values another accepted finding put into a
 * field stay (a template has one set of nodule fields: the first accepted nodule keeps them,
 * an edit sets them on purpose), and a rejection never clears them.
 */
export function applyDecision(doc: Doc, template: ReportTemplate | null, p: Proposal,
                              kind: 'accepted' | 'edited' | 'rejected',
                              edit: { sentence?: string; values?: Record<string, string> } = {},
                              others: Proposal[] = []): Doc {
  const before = decidedSentence(p);
  if (kind === 'rejected') {
    const earlier = { ...(p.values ?? {}), ...(p.decision?.values ?? {}) };
    const keep = Object.fromEntries(Object.entries(earlier).filter(([k]) => !confirmedElsewhere(template, doc.fields, k, p, others)));
    return {
      ...doc,
      findings_text: removeSentence(doc.findings_text, before || p.sentence),
      fields: withdrawValues(template, doc.fields, keep),
    };
  }
  const sentence = kind === 'edited' ? (edit.sentence?.trim() || p.sentence) : p.sentence;
  let values = kind === 'edited' ? { ...(p.values ?? {}), ...(edit.values ?? {}) } : (p.values ?? {});
  if (kind === 'accepted') {
    values = Object.fromEntries(Object.entries(values).filter(([k]) => !confirmedElsewhere(template, doc.fields, k, p, others)));
  }
  // The draft may already hold the proposed sentence (pre-filled, or typed): replace, not add.
  const old = before || (doc.findings_text.includes(p.sentence.trim()) ? p.sentence : '');
  return {
    ...doc,
    findings_text: old ? replaceSentence(doc.findings_text, old, sentence) : insertSentence(doc.findings_text, sentence),
    fields: applyValues(template, doc.fields, values),
  };
}
