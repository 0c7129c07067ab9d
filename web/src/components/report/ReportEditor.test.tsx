import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../api/report';
import { setReader } from '../../lib/reader';
import { installFetch, type Call } from '../../test/fakes';
import { localKey, readLocal } from './draft';
import { EMPHYSEMA, NODULE, QUALITY, fakeReportServer, report, type Fake } from './fakeServer';
import { ReportEditor } from './ReportEditor';

let fake: Fake;
let calls: Call[];

const posts = (re: RegExp) => calls.filter((c) => c.method === 'POST' && re.test(c.url));
const puts = () => calls.filter((c) => c.method === 'PUT');
const card = (id: number) => document.querySelector(`[data-testid="proposal"][data-finding-id="${id}"]`) as HTMLElement;
const findings = () => screen.getByTestId('text-findings_text') as HTMLTextAreaElement;

function serve(f: Fake) {
  fake = f;
  calls = installFetch((c) => {
    if (/\/similar\?k=/.test(c.url)) return { body: { finding: { id: 11, label: 'lung nodule', size_mm: 8 }, features: [], similar: [] } };
    return fake.handle(c);
  });
}

function open(props: Partial<Parameters<typeof ReportEditor>[0]> = {}) {
  return render(<ReportEditor studyUid="s1" canEdit reader="dr.a" autosaveMs={30} {...props} />);
}

async function ready() {
  await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('draft'));
  await waitFor(() => expect(screen.getByTestId('save-state')).toBeTruthy());
}

beforeEach(() => {
  localStorage.clear();
  setReader('dr.a');
  serve(fakeReportServer());
});
afterEach(() => { cleanup(); vi.useRealTimers(); });

describe('report editor: template and pre-fill', () => {
  it('creates the pre-filled draft with the study template, its typed fields and the AI proposals', async () => {
    open();
    await ready();
    expect(posts(/\/studies\/s1\/reports$/)).toHaveLength(1);
    expect(screen.getByTestId('template-rule').textContent).toContain('CT + CHEST → ct-chest');
    // Typed fields, pre-filled from the proposals' values.
    const size = document.getElementById('rf-nodule_size') as HTMLInputElement;
    expect(size.type).toBe('number');
    expect(size.value).toBe('8');
    expect(size.closest('.rf')!.textContent).toContain('mm');
    expect((document.getElementById('rf-nodule_site') as HTMLSelectElement).value).toBe('rul');
    expect(document.getElementById('rf-lung_rads')!.closest('.rf')!.textContent).toContain('LR3 (ACR)');
    expect((document.getElementById('rf-contrast') as HTMLInputElement).type).toBe('checkbox');
    expect((document.getElementById('rf-exam_date') as HTMLInputElement).type).toBe('date');
    expect(within(document.getElementById('rf-features')!).getAllByRole('checkbox')).toHaveLength(2);
    // Values from an undecided proposal are marked.
    expect(size.closest('.rf')!.querySelector('.ai-tag')).not.toBeNull();
    // Proposals: app and version, AI-proposed.
    const cards = screen.getAllByTestId('proposal');
    expect(cards).toHaveLength(3);
    expect(within(cards[0]).getByTestId('proposal-app').textContent).toContain('ct-lung-lesions 1.4.0');
    expect(within(cards[1]).getByTestId('proposal-app').textContent).toContain('ct-emphysema 2.0.1');
    expect(screen.getAllByTestId('ai-proposed')).toHaveLength(3);
    expect(cards[0].textContent).toContain('growing');
    expect(cards[0].textContent).toContain('Lung-RADS 3');
    // Similar cases for the selected lung nodule.
    expect(await screen.findByTestId('similar-cases')).toBeTruthy();
  });

  it('opens the existing draft instead of creating one', async () => {
    const r = report({ findings_text: 'Heart normal.', revision: 4 });
    serve(fakeReportServer({ reports: [r] }));
    open();
    await ready();
    expect(posts(/\/reports$/)).toHaveLength(0);
    expect(findings().value).toBe('Heart normal.');
  });

  it('is read-only without the claim: no draft created', async () => {
    open({ canEdit: false });
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('none'));
    expect(posts(/\/reports$/)).toHaveLength(0);
    expect(screen.getByTestId('report-editor').textContent).toContain('No report yet');
  });

  it('says so when the server has no report API', async () => {
    calls = installFetch(() => undefined);
    open();
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('error'));
    expect(screen.getByTestId('report-error').textContent).toMatch(/not available/);
  });
});

describe('report editor: AI decisions', () => {
  it('accept puts the sentence into the findings and records the decision', async () => {
    open();
    await ready();
    fireEvent.click(within(card(11)).getByTestId('accept'));
    await waitFor(() => expect(posts(/\/findings\/11\/decision$/)).toHaveLength(1));
    expect(posts(/\/findings\/11\/decision$/)[0].body).toMatchObject({ decision: 'accepted' });
    await waitFor(() => expect(findings().value).toBe(NODULE));
    expect(card(11).dataset.decision).toBe('accepted');
    expect(within(card(11)).getByTestId('decision').textContent).toContain('accepted by dr.a');
    // Saved at once, with the sentence.
    await waitFor(() => expect(fake.puts.some((p) => p.findings_text === NODULE)).toBe(true));
    // The focus moved on to the next undecided proposal.
    expect(document.activeElement).toBe(card(12));
    expect(document.getElementById('rf-nodule_size')!.closest('.rf')!.querySelector('.ai-tag')).toBeNull();
  });

  it('Alt+A accepts the focused proposal, Alt+J/Alt+K move between them', async () => {
    open();
    await ready();
    act(() => card(11).focus());
    fireEvent.keyDown(card(11), { key: 'j', code: 'KeyJ', altKey: true });
    expect(document.activeElement).toBe(card(12));
    fireEvent.keyDown(card(12), { key: 'ArrowDown' });
    expect(document.activeElement).toBe(card(13));
    fireEvent.keyDown(card(13), { key: 'k', code: 'KeyK', altKey: true });
    expect(document.activeElement).toBe(card(12));
    fireEvent.keyDown(card(12), { key: 'a', code: 'KeyA', altKey: true });
    await waitFor(() => expect(posts(/\/findings\/12\/decision$/)).toHaveLength(1));
    await waitFor(() => expect(findings().value).toBe(EMPHYSEMA));
  });

  it('Alt+R rejects with a reason and takes the proposed values out', async () => {
    open();
    await ready();
    act(() => card(11).focus());
    fireEvent.keyDown(card(11), { key: 'r', code: 'KeyR', altKey: true });
    const reason = await screen.findByTestId('reject-reason');
    expect(document.activeElement).toBe(reason);
    fireEvent.change(reason, { target: { value: 'vessel, not a nodule' } });
    fireEvent.keyDown(reason, { key: 'Enter' });
    await waitFor(() => expect(posts(/\/findings\/11\/decision$/)).toHaveLength(1));
    expect(posts(/\/findings\/11\/decision$/)[0].body).toMatchObject({ decision: 'rejected', reason: 'vessel, not a nodule' });
    await waitFor(() => expect(card(11).dataset.decision).toBe('rejected'));
    expect(within(card(11)).getByTestId('reject-reason-shown').textContent).toContain('vessel, not a nodule');
    expect((document.getElementById('rf-nodule_size') as HTMLInputElement).value).toBe('');
    expect(findings().value).toBe('');
  });

  it('reject without a reason sends none; Escape cancels', async () => {
    open();
    await ready();
    fireEvent.click(within(card(13)).getByTestId('reject'));
    fireEvent.keyDown(screen.getByTestId('reject-reason'), { key: 'Escape' });
    expect(screen.queryByTestId('reject-form')).toBeNull();
    fireEvent.click(within(card(13)).getByTestId('reject'));
    fireEvent.click(screen.getByTestId('reject-confirm'));
    await waitFor(() => expect(posts(/\/findings\/13\/decision$/)).toHaveLength(1));
    expect(posts(/\/findings\/13\/decision$/)[0].body).toEqual({ decision: 'rejected', study_uid: 's1', reader: 'dr.a' });
  });

  it('edit changes the sentence and the values', async () => {
    open();
    await ready();
    fireEvent.click(within(card(11)).getByTestId('edit'));
    const sentence = await screen.findByTestId('edit-sentence');
    fireEvent.change(sentence, { target: { value: 'Solid nodule of 9 mm in the right upper lobe.' } });
    const size = within(screen.getByTestId('edit-form')).getAllByRole('spinbutton')[0] as HTMLInputElement;
    fireEvent.change(size, { target: { value: '9' } });
    fireEvent.click(screen.getByTestId('edit-save'));
    await waitFor(() => expect(posts(/\/findings\/11\/decision$/)).toHaveLength(1));
    expect(posts(/\/findings\/11\/decision$/)[0].body).toMatchObject({
      decision: 'edited', sentence: 'Solid nodule of 9 mm in the right upper lobe.', values: { nodule_size: '9', nodule_site: 'rul', lung_rads: '3' },
    });
    await waitFor(() => expect(findings().value).toBe('Solid nodule of 9 mm in the right upper lobe.'));
    expect((document.getElementById('rf-nodule_size') as HTMLInputElement).value).toBe('9');
    // Changing one's mind: accept the original after all replaces the edited sentence.
    fireEvent.click(within(card(11)).getByTestId('change'));
    fireEvent.click(within(card(11)).getByTestId('accept'));
    await waitFor(() => expect(findings().value).toBe(NODULE));
  });

  it('tells when a decision is refused', async () => {
    open();
    await ready();
    fake.proposals = fake.proposals.filter((p) => p.finding_id !== 13);  // the server no longer knows it
    fireEvent.click(within(card(13)).getByTestId('accept'));
    expect((await screen.findByTestId('report-notice')).textContent).toMatch(/not recorded/);
    expect(card(13).dataset.decision).toBe('');
  });
});

describe('report editor: autosave', () => {
  it('saves after the typing stops, with the revision, and Ctrl+S at once', async () => {
    open({ autosaveMs: 200 });
    await ready();
    const ta = findings();
    fireEvent.change(ta, { target: { value: 'Heart' } });
    fireEvent.change(ta, { target: { value: 'Heart normal.' } });
    expect(screen.getByTestId('save-state').dataset.state).toBe('dirty');
    expect(puts()).toHaveLength(0);
    // Kept in the browser at once.
    expect(readLocal(fake.reports[0].id)?.doc.findings_text).toBe('Heart normal.');
    await waitFor(() => expect(puts()).toHaveLength(1));
    expect(puts()[0].body).toMatchObject({ revision: 1, findings_text: 'Heart normal.' });
    await waitFor(() => expect(screen.getByTestId('save-state').dataset.state).toBe('clean'));
    expect(localStorage.getItem(localKey(fake.reports[0].id))).toBeNull();
    fireEvent.change(ta, { target: { value: 'Heart normal. Lungs clear.' } });
    fireEvent.keyDown(ta, { key: 's', code: 'KeyS', ctrlKey: true });
    await waitFor(() => expect(puts()).toHaveLength(2));
    expect(puts()[1].body).toMatchObject({ revision: 2, findings_text: 'Heart normal. Lungs clear.' });
    expect(fake.reports[0].revision).toBe(3);
  });

  it('saves typed fields, multiple selects as lists and section free text', async () => {
    open();
    await ready();
    fireEvent.click(document.getElementById('rf-contrast')!);
    fireEvent.click(within(document.getElementById('rf-features')!).getAllByRole('checkbox')[1]);
    fireEvent.change(document.getElementById('rf-exam_date')!, { target: { value: '2024-02-01' } });
    fireEvent.change(screen.getByTestId('section-text-technique'), { target: { value: 'Low dose.' } });
    fireEvent.change(screen.getByTestId('critical-communicated'), { target: { value: 'told Dr X 14:05' } });
    await waitFor(() => expect(fake.reports[0].critical_communicated).toBe('told Dr X 14:05'));
    expect(fake.reports[0].content).toMatchObject({
      fields: { contrast: 'true', features: ['calcified'], exam_date: '2024-02-01', nodule_size: '8' },
      sections: { technique: 'Low dose.' },
    });
  });

  it('a number out of its range is flagged', async () => {
    open();
    await ready();
    fireEvent.change(document.getElementById('rf-nodule_size')!, { target: { value: '180' } });
    expect(document.getElementById('rf-nodule_size')!.closest('.rf')!.textContent).toContain('above 100');
  });

  it('on 409 loads the saved version, tells the user and keeps theirs to put back', async () => {
    open();
    await ready();
    const r = fake.reports[0];
    // Someone else saves meanwhile.
    Object.assign(r, { revision: 5, findings_text: 'Their text.', author: 'dr.b' });
    fireEvent.change(findings(), { target: { value: 'My text.' } });
    const notice = await screen.findByTestId('report-notice');
    expect(notice.textContent).toMatch(/saved elsewhere \(revision 5/);
    await waitFor(() => expect(findings().value).toBe('Their text.'));
    fireEvent.click(screen.getByTestId('keep-mine'));
    await waitFor(() => expect(r.findings_text).toBe('My text.'));
    expect(puts().at(-1)!.body).toMatchObject({ revision: 5 });
    expect(findings().value).toBe('My text.');
  });

  it("puts back the browser's copy when it is newer than the server's", async () => {
    const r = report({ findings_text: 'Old.', revision: 2 });
    serve(fakeReportServer({ reports: [r] }));
    localStorage.setItem(localKey(r.id), JSON.stringify({
      v: 1, report_id: r.id, study_uid: 's1', revision: 2, saved_at: Date.now(),
      doc: { template_id: 'ct-chest', fields: {}, sections: {}, findings_text: 'Typed before the crash.', impression_text: '', critical_communicated: '' },
    }));
    open();
    await ready();
    expect(findings().value).toBe('Typed before the crash.');
    expect(screen.getByTestId('report-notice').textContent).toMatch(/put back/);
    await waitFor(() => expect(r.findings_text).toBe('Typed before the crash.'));
    expect(r.revision).toBe(3);
  });

  it("drops the browser's copy when the server's is newer", async () => {
    const r = report({ findings_text: 'Newer on the server.', revision: 3, updated_at: Date.now() });
    serve(fakeReportServer({ reports: [r] }));
    localStorage.setItem(localKey(r.id), JSON.stringify({
      v: 1, report_id: r.id, study_uid: 's1', revision: 2, saved_at: Date.now() - 3_600_000,
      doc: { template_id: 'ct-chest', fields: {}, sections: {}, findings_text: 'Old local.', impression_text: '', critical_communicated: '' },
    }));
    open();
    await ready();
    expect(findings().value).toBe('Newer on the server.');
    expect(localStorage.getItem(localKey(r.id))).toBeNull();
    expect(puts()).toHaveLength(0);
  });

  it('keeps the text in the browser and retries when the server is down', async () => {
    open();
    await ready();
    fake.failNextPut = 503;
    fireEvent.change(findings(), { target: { value: 'While offline.' } });
    await waitFor(() => expect(screen.getByTestId('save-state').dataset.state).toBe('offline'));
    expect(screen.getByTestId('save-state').textContent).toMatch(/kept in this browser/);
    expect(readLocal(fake.reports[0].id)?.doc.findings_text).toBe('While offline.');
    fireEvent.click(screen.getByTestId('save-now'));
    await waitFor(() => expect(fake.reports[0].findings_text).toBe('While offline.'));
    await waitFor(() => expect(screen.getByTestId('save-state').dataset.state).toBe('clean'));
  });
});

describe('report editor: QA and signing', () => {
  it('lists QA issues with links to the finding and to the sentence', async () => {
    const text = 'Ø 5 mm scar.\nNodule in the left upper lobe.';
    const r = report({ findings_text: text });
    serve(fakeReportServer({ reports: [r] }));
    open();
    await ready();
    const issues = await screen.findAllByTestId('qa-issue');
    expect(issues.map((i) => i.dataset.check)).toEqual(['undecided_finding', 'laterality_mismatch']);
    fireEvent.click(within(issues[0]).getByTestId('qa-link-finding'));
    expect(document.activeElement).toBe(card(11));
    fireEvent.click(within(issues[1]).getByTestId('qa-link-sentence'));
    const ta = findings();
    expect(document.activeElement).toBe(ta);
    expect(ta.value.slice(ta.selectionStart, ta.selectionEnd)).toBe('Nodule in the left upper lobe.');
  });

  it('Alt+Q saves and re-runs the checks', async () => {
    open();
    await ready();
    expect((await screen.findAllByTestId('qa-issue'))).toHaveLength(1);
    fireEvent.click(within(card(11)).getByTestId('accept'));
    await waitFor(() => expect(card(11).dataset.decision).toBe('accepted'));
    fireEvent.keyDown(window, { key: 'q', code: 'KeyQ', altKey: true });
    await waitFor(() => expect(screen.getByTestId('qa-count').textContent).toBe('no issues'));
  });

  it('Ctrl+Enter opens the sign dialog; errors must be acknowledged; signed: status, SR, delivery, addendum', async () => {
    const onSigned = vi.fn();
    open({ onSigned });
    await ready();
    fireEvent.change(findings(), { target: { value: 'Lungs otherwise clear.' } });
    fireEvent.keyDown(findings(), { key: 'Enter', ctrlKey: true });
    const dialog = await screen.findByTestId('sign-dialog');
    // The draft was saved before the checks.
    expect(fake.reports[0].findings_text).toBe('Lungs otherwise clear.');
    expect(within(dialog).getByTestId('sign-by').textContent).toContain('dr.a');
    const confirm = within(dialog).getByTestId('sign-confirm') as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    const ack = within(dialog).getByTestId('sign-ack');
    expect(ack.dataset.issueId).toBe('undecided_finding:11');
    fireEvent.click(ack);
    expect(confirm.disabled).toBe(false);
    fireEvent.click(within(dialog).getByTestId('sign-final'));
    fireEvent.click(confirm);
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('signed'));
    expect(fake.signs).toEqual([{ status: 'final', acknowledged: ['undecided_finding:11'], reader: 'dr.a' }]);
    expect(screen.getAllByTestId('report-status')[0].textContent).toBe('final');
    expect(screen.getByTestId('signed-line').textContent).toContain('signed by dr.a');
    expect(screen.getByTestId('sr-link').getAttribute('href')).toBe('/dicom-web/studies/s1/series/1.2.9/instances/1.2.9.1');
    expect(screen.getByTestId('fhir-link').getAttribute('href')).toBe(`/api/v1/fhir/DiagnosticReport/${fake.reports[0].id}`);
    await waitFor(() => expect(screen.getByTestId('delivery').textContent).toContain('ris:2575'));
    expect(screen.getByTestId('delivery').textContent).toContain('sent');
    expect(onSigned).toHaveBeenCalledTimes(1);
    expect((onSigned.mock.calls[0][0] as Report).status).toBe('final');
    // Addendum: a new draft version.
    fireEvent.click(screen.getByTestId('addendum'));
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('draft'));
    expect(screen.getByTestId('report-notice').textContent).toMatch(/Addendum: version 2/);
    expect(findings().value).toBe('Lungs otherwise clear.');
    expect(screen.getByTestId('report-editor').textContent).toContain('1 other report of this study');
  });

  it('a 409 from signing shows the reason and refreshes the issues', async () => {
    open();
    await ready();
    fireEvent.click(screen.getByTestId('open-sign'));
    const dialog = await screen.findByTestId('sign-dialog');
    fireEvent.click(within(dialog).getByTestId('sign-ack'));
    // A new error appears on the server between the check and the signature.
    fake.proposals[1].severity = 'high';
    fireEvent.click(within(dialog).getByTestId('sign-confirm'));
    expect((await screen.findByTestId('sign-error')).textContent).toMatch(/not acknowledged/);
    await waitFor(() => expect(within(screen.getByTestId('sign-dialog')).getAllByTestId('sign-ack')).toHaveLength(2));
    fireEvent.keyDown(screen.getByTestId('sign-dialog'), { key: 'Escape' });
    expect(screen.queryByTestId('sign-dialog')).toBeNull();
  });

  it('signs preliminary, then final', async () => {
    fake.proposals = fake.proposals.filter((p) => p.finding_id !== 11);
    open();
    await ready();
    fireEvent.click(screen.getByTestId('open-sign'));
    const dialog = await screen.findByTestId('sign-dialog');
    fireEvent.click(within(dialog).getByTestId('sign-preliminary'));
    fireEvent.click(within(dialog).getByTestId('sign-confirm'));
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('signed'));
    expect(screen.getAllByTestId('report-status')[0].textContent).toBe('preliminary');
    fireEvent.click(screen.getByTestId('sign-final-now'));
    const d2 = await screen.findByTestId('sign-dialog');
    expect(within(d2).queryByTestId('sign-preliminary')).toBeNull();
    fireEvent.click(within(d2).getByTestId('sign-confirm'));
    await waitFor(() => expect(screen.getAllByTestId('report-status')[0].textContent).toBe('final'));
    expect(fake.signs.map((s) => (s as { status: string }).status)).toEqual(['preliminary', 'final']);
  });

  it('shows a signed report read-only with its SR', async () => {
    const r = report({ status: 'final', signed_by: 'dr.z', signed_at: Date.now(), findings_text: QUALITY,
      sr_series_uid: '9.8', sr_sop_uid: '9.8.7', content: { fields: { nodule_size: '8' }, sections: {} } });
    serve(fakeReportServer({ reports: [r] }));
    open();
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('signed'));
    expect(posts(/\/reports$/)).toHaveLength(0);
    const body = screen.getByTestId('report-body');
    expect(body.textContent).toContain(QUALITY);
    expect(body.textContent).toContain('Nodule size8 mm');
    expect(screen.getByTestId('sr-link')).toBeTruthy();
    expect(screen.queryByTestId('text-findings_text')).toBeNull();
  });
});
