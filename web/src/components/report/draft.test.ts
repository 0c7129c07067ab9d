import { beforeEach, describe, expect, it } from 'vitest';
import {
  EMPTY_DOC, applyDecision, asMs, clearLocal, docEqual, docFromReport, insertSentence, issueRange,
  localWins, missingTexts, readLocal, removeSentence, replaceSentence, sectionText, updateBody,
  utf8ToIndex, withdrawValues, writeLocal, aiProposedFields, hasSimilarCases, textPlaces, sectionHasFreeText,
  type Doc,
} from './draft';
import type { ReportTemplate, TemplateField } from '../../api/report';
import { EMPHYSEMA, NODULE, TEMPLATE, proposals } from './fakeServer';
import { reportCommand } from './shortcuts';

const doc = (over: Partial<Doc> = {}): Doc => ({ ...EMPTY_DOC, template_id: 'ct-chest', ...over });

describe('the document', () => {
  it('is read from a report, numbers and booleans as text, junk dropped', () => {
    const d = docFromReport({
      template_id: 't', findings_text: 'F', impression_text: 'I', critical_communicated: '',
      content: { fields: { a: '1', b: 2 as unknown as string, c: true as unknown as string, d: ['x', 'y'], e: { no: 1 } as unknown as string }, sections: { s: 'free', t: 3 as unknown as string } },
    });
    expect(d.fields).toEqual({ a: '1', b: '2', c: 'true', d: ['x', 'y'] });
    expect(d.sections).toEqual({ s: 'free' });
    expect(d.findings_text).toBe('F');
  });

  it('survives a report without content', () => {
    const d = docFromReport({ template_id: '', content: null, findings_text: '', impression_text: '', critical_communicated: '' });
    expect(d).toEqual(EMPTY_DOC);
  });

  it('is the PUT body with the revision it was made on', () => {
    const b = updateBody(doc({ fields: { x: '1' }, sections: { s: 'a' }, findings_text: 'f' }), 7);
    expect(b).toEqual({ revision: 7, content: { fields: { x: '1' }, sections: { s: 'a' } }, findings_text: 'f',
      impression_text: '', critical_communicated: '', template_id: 'ct-chest' });
  });

  it('compares by value, missing and empty alike', () => {
    expect(docEqual(doc({ fields: { a: ['x'] } }), doc({ fields: { a: ['x'] } }))).toBe(true);
    expect(docEqual(doc({ fields: { a: '' } }), doc())).toBe(true);
    expect(docEqual(doc({ sections: { s: 'x' } }), doc())).toBe(false);
    expect(docEqual(doc({ findings_text: 'a' }), doc())).toBe(false);
  });
});

describe("the browser's copy", () => {
  beforeEach(() => localStorage.clear());
  const server = { revision: 3, updated_at: 1_700_000_000_000, status: 'draft' as const };

  it('round-trips through localStorage and is removed', () => {
    writeLocal({ v: 1, report_id: 5, study_uid: 's', revision: 3, saved_at: 1, doc: doc({ findings_text: 'x' }) });
    expect(readLocal(5)?.doc.findings_text).toBe('x');
    expect(readLocal(6)).toBeNull();
    clearLocal(5);
    expect(readLocal(5)).toBeNull();
  });

  it('ignores what is not a copy', () => {
    localStorage.setItem('radflow.report-draft.9', '{not json');
    expect(readLocal(9)).toBeNull();
    localStorage.setItem('radflow.report-draft.9', JSON.stringify({ v: 2, report_id: 9, doc: {} }));
    expect(readLocal(9)).toBeNull();
  });

  it('wins when made on the current revision or written after the server changed', () => {
    const theirs = doc({ findings_text: 'server' });
    const mine = (revision: number, saved_at: number, text = 'mine') =>
      ({ v: 1 as const, report_id: 1, study_uid: 's', revision, saved_at, doc: doc({ findings_text: text }) });
    expect(localWins(mine(3, 0), server, theirs)).toBe(true);
    expect(localWins(mine(2, server.updated_at + 1), server, theirs)).toBe(true);
    expect(localWins(mine(2, server.updated_at - 1), server, theirs)).toBe(false);
    expect(localWins(mine(3, 0, 'server'), server, theirs)).toBe(false);  // the same
    expect(localWins(mine(3, 0), { ...server, status: 'final' } as never, theirs)).toBe(false);
    expect(localWins(null, server, theirs)).toBe(false);
    // updated_at in seconds
    expect(localWins(mine(2, server.updated_at + 1), { ...server, updated_at: server.updated_at / 1000 }, theirs)).toBe(true);
    expect(asMs(1_700_000_000)).toBe(1_700_000_000_000);
  });
});

describe('text', () => {
  it('inserts a sentence on its own line, once', () => {
    expect(insertSentence('', 'A.')).toBe('A.');
    expect(insertSentence('Lungs clear.  \n', 'A.')).toBe('Lungs clear.\nA.');
    expect(insertSentence('A. B.', 'A.')).toBe('A. B.');
    expect(insertSentence('x', '  ')).toBe('x');
  });

  it('replaces and removes sentences', () => {
    expect(replaceSentence('X.\nA.\nY.', 'A.', 'B.')).toBe('X.\nB.\nY.');
    expect(replaceSentence('X.', 'A.', 'B.')).toBe('X.\nB.');
    expect(removeSentence('X.\nA.\nY.', 'A.')).toBe('X.\nY.');
    expect(removeSentence('X.\nA.', 'A.')).toBe('X.');
    expect(removeSentence('X. A. Y.', 'A.')).toBe('X. Y.');
    expect(removeSentence('X.', 'A.')).toBe('X.');
  });

  it('turns UTF-8 byte offsets into text indices', () => {
    const t = 'Ø 5 mm — links: 😀 left';
    const bytes = (s: string) => new TextEncoder().encode(s).length;
    const at = t.indexOf('left');
    expect(utf8ToIndex(t, bytes(t.slice(0, at)))).toBe(at);
    expect(utf8ToIndex(t, 0)).toBe(0);
    expect(utf8ToIndex(t, 10_000)).toBe(t.length);
    expect(issueRange(t, bytes(t.slice(0, at)), 4)).toEqual([at, at + 4]);
    expect(issueRange(t, -1, 0)).toBeNull();
  });
});

describe('template and proposals', () => {
  it('binds the findings and impression sections to the report texts', () => {
    expect(sectionText({ id: 'findings', title: 'x' })).toBe('findings_text');
    expect(sectionText({ id: 'conclusion', title: 'x' })).toBe('impression_text');
    expect(sectionText({ id: 'lungs', title: 'Lungs' })).toBeNull();
    expect(missingTexts(TEMPLATE)).toEqual([]);
    expect(missingTexts({ ...TEMPLATE, sections: [] })).toEqual(['findings_text', 'impression_text']);
    expect(missingTexts(null)).toEqual(['findings_text', 'impression_text']);
  });

  it('puts the report texts where the template has fields of their names (MRRT templates)', () => {
    const field = (id: string, type: TemplateField['type'] = 'text'): TemplateField => ({ id, label: id, type, unit: '', min: null, max: null, options: [], multiple: false, required: false, default: '', ai_key: '' });
    const t: ReportTemplate = { ...TEMPLATE, sections: [
      { id: 'technique', title: 'Technique', fields: [field('technique_text')] },
      { id: 'findings', title: 'Findings', fields: [] },
      { id: 'lungs', title: 'Lungs', fields: [field('size', 'number')] },
      { id: 'impression', title: 'Impression', fields: [field('impression_text')] },
    ] };
    const p = textPlaces(t);
    expect([...p.field]).toEqual(['impression_text']);
    expect(p.section.get('findings')).toEqual(['findings_text']);
    expect(p.missing).toEqual([]);
    expect(sectionHasFreeText(t.sections[0], p)).toBe(false);  // has a text field
    expect(sectionHasFreeText(t.sections[1], p)).toBe(false);  // hosts the findings
    expect(sectionHasFreeText(t.sections[2], p)).toBe(true);
    // A pre-filled field of that name is the text, kept once.
    const d = docFromReport({ template_id: 't', findings_text: '', impression_text: '', critical_communicated: '',
      content: { fields: { impression_text: 'No acute finding.', size: '4' }, sections: {} } });
    expect(d.impression_text).toBe('No acute finding.');
    expect(d.fields).toEqual({ size: '4' });
  });

  it('accepting puts the sentence and values in; rejecting takes them out', () => {
    const [nodule] = proposals();
    const start = doc({ findings_text: 'Heart normal.' });
    const accepted = applyDecision(start, TEMPLATE, nodule, 'accepted');
    expect(accepted.findings_text).toBe(`Heart normal.\n${NODULE}`);
    expect(accepted.fields).toMatchObject({ nodule_size: '8', nodule_site: 'rul', lung_rads: '3' });
    const decided = { ...nodule, decision: { decision: 'accepted', sentence: '', values: {} } as never };
    const rejected = applyDecision(accepted, TEMPLATE, decided, 'rejected');
    expect(rejected.findings_text).toBe('Heart normal.');
    expect(rejected.fields).toEqual({});
  });

  it('an edit replaces the sentence already there', () => {
    const [nodule] = proposals();
    const start = doc({ findings_text: `A.\n${NODULE}\nB.` });
    const edited = applyDecision(start, TEMPLATE, nodule, 'edited', { sentence: 'Nodule of 9 mm.', values: { nodule_size: '9' } });
    expect(edited.findings_text).toBe('A.\nNodule of 9 mm.\nB.');
    expect(edited.fields.nodule_size).toBe('9');
    expect(edited.fields.nodule_site).toBe('rul');
  });

  it('keeps the values of a finding accepted first; a rejection does not clear them', () => {
    const [nodule] = proposals();
    const second = { ...nodule, finding_id: 21, sentence: 'Second nodule of 5 mm.', values: { nodule_size: '5', nodule_site: 'rul' } };
    const accepted = { ...nodule, decision: { decision: 'accepted', sentence: '', values: {} } as never };
    const start = applyDecision(doc(), TEMPLATE, nodule, 'accepted');
    const both = applyDecision(start, TEMPLATE, second, 'accepted', {}, [accepted, second]);
    expect(both.fields.nodule_size).toBe('8');
    expect(both.findings_text).toBe(`${NODULE}\nSecond nodule of 5 mm.`);
    const rejected = applyDecision(start, TEMPLATE, second, 'rejected', {}, [accepted, second]);
    expect(rejected.fields).toMatchObject({ nodule_size: '8', nodule_site: 'rul' });
    // An edit sets them on purpose.
    const edited = applyDecision(start, TEMPLATE, second, 'edited', { values: { nodule_size: '5' } }, [accepted, second]);
    expect(edited.fields.nodule_size).toBe('5');
  });

  it('withdraws only the values still as proposed', () => {
    expect(withdrawValues(TEMPLATE, { laa950: '12', nodule_size: '7' }, { laa950: '12', nodule_size: '8' })).toEqual({ nodule_size: '7' });
  });

  it('knows which fields still hold an undecided AI value', () => {
    const ps = proposals();
    const m = aiProposedFields(TEMPLATE, { nodule_size: '8', laa950: '20' }, ps);
    expect([...m.keys()]).toEqual(['nodule_size']);
    expect(m.get('nodule_size')?.app_id).toBe('ct-lung-lesions');
    expect(EMPHYSEMA).toContain('emphysema');
  });

  it('offers similar cases for lung nodules and bleeds only', () => {
    const [nodule, emph] = proposals();
    expect(hasSimilarCases(nodule)).toBe(true);
    expect(hasSimilarCases(emph)).toBe(false);
    expect(hasSimilarCases({ ...nodule, kind: 'haemorrhage' })).toBe(true);
    expect(hasSimilarCases({ ...nodule, finding_id: -3 })).toBe(false);
  });
});

describe('keys', () => {
  it('maps modified keys only', () => {
    expect(reportCommand({ key: 'a', code: 'KeyA', altKey: true })).toBe('accept');
    expect(reportCommand({ key: 'å', code: 'KeyA', altKey: true })).toBe('accept');  // macOS Option+A
    expect(reportCommand({ key: 'r', altKey: true })).toBe('reject');
    expect(reportCommand({ key: 'm', altKey: true })).toBe('edit');
    expect(reportCommand({ key: 's', ctrlKey: true })).toBe('save');
    expect(reportCommand({ key: 's', metaKey: true })).toBe('save');
    expect(reportCommand({ key: 'Enter', ctrlKey: true })).toBe('sign');
    expect(reportCommand({ key: 'a' })).toBeNull();
    expect(reportCommand({ key: 'n' })).toBeNull();
    expect(reportCommand({ key: 'Escape' })).toBeNull();
    expect(reportCommand({ key: 'e', altKey: true })).toBeNull();  // Chromium's menu
    expect(reportCommand({ key: 'a', altKey: true, ctrlKey: true })).toBeNull();
  });
});
