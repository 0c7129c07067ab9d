import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { setReader } from '../lib/reader';
import { fakeReportServer, report, type Fake } from '../components/report/fakeServer';
import { FakeEventSource, installFetch, item, type Call } from '../test/fakes';
import type { WorklistItem } from '../types';
import { HEARTBEAT_MS, REPORT_PANE_MIN_WIDTH } from './ReadingPage';

let items: WorklistItem[];
let priors: Record<string, { study_uid: string }[]>;
let calls: Call[];
let reports: Fake;

const posts = () => calls.filter((c) => c.method === 'POST').map((c) => c.url);
const iframe = () => document.querySelector('iframe[data-testid="viewer"]') as HTMLIFrameElement | null;

beforeEach(() => {
  localStorage.clear();
  setReader('dr.a');
  FakeEventSource.install();
  items = [
    item({ study_uid: 'one', patient_name: 'First^Pat' }),
    item({ study_uid: 'taken', reader: 'dr.b', state: 'in_progress' }),
    item({ study_uid: 'two', patient_name: 'Second^Pat' }),
  ];
  priors = { one: [{ study_uid: 'old1' }], two: [] };
  reports = fakeReportServer({ study: 'one', reports: [
    report({ study_uid: 'old1', status: 'final', signed_by: 'dr.old', signed_at: Date.UTC(2023, 0, 5), template_id: '',
             findings_text: 'Small nodule right upper lobe.', impression_text: 'Follow-up CT in 12 months.' }),
  ] });
  calls = installFetch((c) => {
    if (/\/(reports|report-template|proposals|decision|report-templates)(\/|$)/.test(c.url)) return reports.handle(c);
    const byUid = (uid: string) => items.find((i) => i.study_uid === uid);
    if (c.method === 'GET' && c.url.startsWith('/api/v1/worklist?')) return { body: { total: items.length, items, now: Date.now() } };
    let m = /^\/api\/v1\/studies\/([^/]+)$/.exec(c.url);
    if (m) return { body: { study: byUid(m[1]), series: [] } };
    m = /^\/api\/v1\/studies\/([^/]+)\/priors$/.exec(c.url);
    if (m) return { body: { study_uid: m[1], priors: priors[m[1]] ?? [] } };
    if (/\/findings$/.test(c.url)) return { body: [{ id: 1, app_id: 'ct-head-bleed', label: 'haemorrhage', severity: 'critical', size_mm: 30, volume_ml: 12, score: 1, details: {} }] };
    if (/\/lesions$/.test(c.url)) return { body: [] };
    m = /^\/api\/v1\/worklist\/([^/]+)\/(claim|release|heartbeat|state)$/.exec(c.url);
    if (m) {
      const it = byUid(m[1])!;
      const me = c.headers['X-Radflow-Reader'];
      if (it.reader && it.reader !== me) {
        return { status: 409, body: { error: `held by ${it.reader}`, code: 'conflict', holder: it.reader } };
      }
      if (m[2] === 'claim') { it.reader = me; it.state = 'in_progress'; }
      if (m[2] === 'release') { it.reader = ''; it.state = 'unread'; }
      if (m[2] === 'state') { it.reader = ''; it.state = (c.body as { state: WorklistItem['state'] }).state; }
      return { body: it };
    }
    return undefined;
  });
});
afterEach(() => { cleanup(); vi.useRealTimers(); });

function open(uid: string) {
  window.history.replaceState(null, '', `/read/${uid}`);
  render(<App />);
}

describe('reading view', () => {
  it('claims the study and opens OHIF beside its prior', async () => {
    open('one');
    await waitFor(() => expect(iframe()).not.toBeNull());
    expect(posts()).toContain('/api/v1/worklist/one/claim');
    expect(iframe()!.getAttribute('src')).toBe('/ohif/viewer?StudyInstanceUIDs=one,old1&hangingProtocolId=@ohif/hpCompare');
    expect(screen.getByTestId('reading').dataset.mode).toBe('reading');
    await waitFor(() => expect(screen.getByText('haemorrhage')).toBeTruthy());
  });

  it('opens the study alone without a prior', async () => {
    open('two');
    await waitFor(() => expect(iframe()).not.toBeNull());
    expect(iframe()!.getAttribute('src')).toBe('/ohif/viewer?StudyInstanceUIDs=two');
  });

  it('does not open the viewer for reading when another reader holds it', async () => {
    open('taken');
    const msg = await screen.findByTestId('message');
    expect(msg.textContent).toContain('Claimed by dr.b');
    expect(screen.getByTestId('reading').dataset.mode).toBe('blocked');
    expect(iframe()).toBeNull();
    expect((screen.getByTestId('action-final') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId('view-only'));
    await waitFor(() => expect(iframe()).not.toBeNull());
  });

  it('sends a heartbeat every minute while open', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    open('two');
    await waitFor(() => expect(screen.getByTestId('reading').dataset.mode).toBe('reading'));
    expect(posts().filter((u) => u.endsWith('/heartbeat'))).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS + 10);
    expect(posts().filter((u) => u.endsWith('/heartbeat'))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    expect(posts().filter((u) => u.endsWith('/heartbeat'))).toHaveLength(2);
  });

  it('n releases the current study and claims the next one it may read', async () => {
    open('one');
    await waitFor(() => expect(screen.getByTestId('reading').dataset.mode).toBe('reading'));
    fireEvent.keyDown(window, { key: 'n' });
    await waitFor(() => expect(window.location.pathname).toBe('/read/two'));
    await waitFor(() => expect(posts()).toContain('/api/v1/worklist/two/claim'));
    const p = posts();
    expect(p.indexOf('/api/v1/worklist/one/release')).toBeGreaterThan(-1);
    expect(p.indexOf('/api/v1/worklist/one/release')).toBeLessThan(p.indexOf('/api/v1/worklist/two/claim'));
    expect(p).not.toContain('/api/v1/worklist/taken/claim');
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(window.location.pathname).toBe('/worklist');
  });

  it('marks final and stops holding the claim', async () => {
    open('two');
    await waitFor(() => expect(screen.getByTestId('reading').dataset.mode).toBe('reading'));
    fireEvent.click(screen.getByTestId('action-final'));
    await waitFor(() => expect(screen.getByTestId('reading').dataset.mode).toBe('done'));
    const state = calls.find((c) => c.url.endsWith('/state'))!;
    expect(state.body).toMatchObject({ state: 'final' });
    expect(screen.getByTestId('message').textContent).toContain('Marked final');
  });

  it('shows the report editor beside the viewer and the prior\'s report read-only', async () => {
    open('one');
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('draft'));
    expect(posts()).toContain('/api/v1/studies/one/reports');
    expect(screen.getAllByTestId('proposal')).toHaveLength(3);
    const prior = await screen.findByText(/Follow-up CT in 12 months/);
    expect(prior.closest('[data-testid="prior-report"]')!.textContent).toContain('signed by dr.old');
    expect(posts()).not.toContain('/api/v1/studies/old1/reports');
    // The reading view's plain keys still work beside the editor's.
    fireEvent.keyDown(window, { key: 'a', code: 'KeyA', altKey: true });
    await waitFor(() => expect(posts()).toContain('/api/v1/findings/11/decision'));
    expect(window.location.pathname).toBe('/read/one');
  });

  it('signing the report ends the reading of the study', async () => {
    reports.proposals = [];
    open('one');
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('draft'));
    fireEvent.keyDown(window, { key: 'Enter', ctrlKey: true });
    fireEvent.click(await screen.findByTestId('sign-confirm'));
    await waitFor(() => expect(screen.getByTestId('reading').dataset.mode).toBe('done'));
    expect(screen.getByTestId('message').textContent).toContain('Report signed final');
    await waitFor(() => expect(calls.find((c) => c.url.endsWith('/one/state'))?.body).toMatchObject({ state: 'final' }));
    expect(screen.getByTestId('addendum')).toBeTruthy();
  });

  it('shows the report read-only without the claim', async () => {
    open('taken');
    await screen.findByTestId('message');
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('none'));
    expect(posts().filter((u) => u.endsWith('/reports'))).toHaveLength(0);
  });

  it('keeps the report in a tab on narrow screens; a report key or the tab opens it, the choice stays', async () => {
    open('one');
    await waitFor(() => expect(screen.getByTestId('report-editor').dataset.phase).toBe('draft'));
    expect(window.innerWidth).toBeLessThan(REPORT_PANE_MIN_WIDTH);
    expect(screen.getByTestId('report-pane').dataset.open).toBe('false');
    fireEvent.keyDown(window, { key: 'j', code: 'KeyJ', altKey: true });
    expect(screen.getByTestId('report-pane').dataset.open).toBe('true');
    fireEvent.click(screen.getByTestId('report-pane-toggle'));
    expect(screen.getByTestId('report-pane').dataset.open).toBe('false');
    expect(localStorage.getItem('radflow.report-pane')).toBe('closed');
    fireEvent.click(screen.getByTestId('report-pane-toggle'));
    expect(localStorage.getItem('radflow.report-pane')).toBe('open');
  });
});
