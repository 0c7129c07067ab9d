import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { App as AiApp, AppAuditEntry, AppDetail } from '../api/admin';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { appVersions, auditLine, formatMs, formatRule, performanceRows } from './AppsPage';

function app(over: Partial<AiApp>): AiApp {
  return {
    id: 'lung-nodules', name: 'Lung nodules', version: '1.1.0', vendor: 'radflow lab', intended_use: 'CT chest nodule detection',
    enabled: true, runner: 'process', rules: [{ attribute: 'Modality', equals: 'CT' },
      { attribute: 'BodyPartExamined', in: ['CHEST', 'LUNG'] }, { attribute: 'SliceThickness', range: { max: 2.5 } }],
    outputs: ['findings', 'sr'], timeout_s: 300, max_attempts: 3, priority: 'routine',
    resources: { threads: 2, memory_mb: 2048, gpu: false }, source: '/etc/radflow/apps/lung-nodules-1.1.0.json',
    versions: ['1.0.0', '1.1.0'], pinned_version: null, running_version: '1.1.0', ...over,
  };
}

let apps: AiApp[];
let audit: Record<string, AppAuditEntry[]>;
let calls: Call[];

function detail(a: AiApp): AppDetail {
  return {
    ...a,
    manifest: { id: a.id, version: a.running_version },
    jobs: { by_state: { succeeded: 12, failed: 1 }, median_app_ms: 850, p95_app_ms: 12_300, median_total_ms: 95_000,
            recent: [{ id: 7, app_id: a.id, app_version: '1.1.0', study_uid: '1.2.840.99', series_uid: '1.2.840.99.1',
                       state: 'succeeded', priority: 0, attempts: 1, max_attempts: 3, created_at: 1, started_at: 2,
                       finished_at: 1000, duration_ms: 998, error: '', summary: '2 nodules' }] },
    performance: [{ app_version: '1.1.0', results: 9, decided: 8, accepted_rate: 0.875, rejected_rate: 0, agreement: 1 }],
    audit: audit[a.id] ?? [],
  };
}

beforeEach(() => {
  window.history.replaceState(null, '', '/apps');
  localStorage.clear();
  setReader('dr.admin');
  FakeEventSource.install();
  apps = [app({}), app({ id: 'ct-head-bleed', name: 'Head bleed', version: '2.0', versions: ['2.0'], running_version: '2.0',
                        enabled: false, rules: [] })];
  audit = { 'lung-nodules': [{ at: Date.now() - 3600_000, actor: 'dr.b', action: 'enable', version: '', note: '' }] };
  calls = installFetch((c) => {
    if (c.method === 'GET' && c.url === '/api/v1/apps') return { body: { apps, rejected: [] } };
    const m = /^\/api\/v1\/apps\/([^/]+)(?:\/(enable|disable|pin|unpin))?$/.exec(c.url);
    if (!m) return undefined;
    const a = apps.find((x) => x.id === decodeURIComponent(m[1]));
    if (!a) return { status: 404, body: { error: 'no app' } };
    if (c.method === 'GET' && !m[2]) return { body: detail(a) };
    if (c.method !== 'POST') return undefined;
    const actor = c.headers['X-Radflow-Reader'];
    const body = c.body as { version?: string };
    if (m[2] === 'pin') {
      if (!a.versions!.includes(body.version ?? '')) return { status: 400, body: { error: `version ${body.version} is not installed` } };
      a.pinned_version = body.version!;
      a.running_version = body.version!;
    }
    if (m[2] === 'unpin') { a.pinned_version = null; a.running_version = '1.1.0'; }
    if (m[2] === 'enable' || m[2] === 'disable') a.enabled = m[2] === 'enable';
    audit[a.id] = [{ at: Date.now(), actor, action: m[2], version: body?.version ?? '', note: '' }, ...(audit[a.id] ?? [])];
    return { body: a };
  });
});
afterEach(() => cleanup());

const card = (id: string) => screen.getByTestId(`app-${id}`);

describe('app formatting', () => {
  it('states rules, versions, timings and audit lines', () => {
    expect(formatRule({ attribute: 'Modality', equals: 'CT' })).toBe('Modality = CT');
    expect(formatRule({ attribute: 'BodyPartExamined', in: ['CHEST', 'LUNG'] })).toBe('BodyPartExamined ∈ {CHEST, LUNG}');
    expect(formatRule({ attribute: 'SliceThickness', range: { min: 0.5, max: 2.5 } })).toBe('0.5 ≤ SliceThickness ≤ 2.5');
    expect(formatRule({ attribute: 'SeriesDescription', regex: 'lung|chest' })).toBe('SeriesDescription matches /lung|chest/');
    expect(appVersions({ version: '1.9.0', versions: ['1.9.0', '1.10.0', '1.2.0'] })).toEqual(['1.10.0', '1.9.0', '1.2.0']);
    expect(appVersions({ version: '3' })).toEqual(['3']);
    expect(formatMs(850)).toBe('850 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(null)).toBe('—');
    expect(auditLine({ at: 0, actor: 'dr.a', action: 'pin', version: '1.0.0', note: 'regression in 1.1' }))
      .toBe('dr.a pinned 1.0.0 — regression in 1.1');
    expect(performanceRows({ app_version: '1', results: 2 })).toEqual([{ app_version: '1', results: 2 }]);
    expect(performanceRows({ versions: [{ app_version: '1' }] })).toEqual([{ app_version: '1' }]);
    expect(performanceRows(undefined)).toEqual([]);
  });
});

describe('apps page', () => {
  it('shows every app with manifest, rules, versions, state, jobs, timings, performance and changes', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getAllByRole('article')).toHaveLength(2));
    const lung = card('lung-nodules');
    await waitFor(() => expect(within(lung).getByTestId('timings').textContent).toContain('850 ms'));
    const t = lung.textContent ?? '';
    for (const s of ['Lung nodules', 'radflow lab', 'CT chest nodule detection', 'process', 'Modality = CT',
                     'BodyPartExamined ∈ {CHEST, LUNG}', 'SliceThickness ≤ 2.5', 'succeeded 12', 'failed 1',
                     'p95 12.3 s', '1 min', '87.5 %', 'dr.b enabled', 'newest runs (not pinned)']) {
      expect(t).toContain(s);
    }
    expect(within(lung).getByTestId('app-state').textContent).toBe('enabled');
    expect(within(lung).getByTestId('versions').textContent).toContain('1.0.0');
    expect(within(lung).getByTestId('running-version').textContent).toBe('1.1.0');
    const head = card('ct-head-bleed');
    expect(within(head).getByTestId('app-state').textContent).toBe('disabled');
    expect(head.textContent).toContain('every series');
  });

  it('pins and unpins a version, recording the administrator', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getAllByRole('article')).toHaveLength(2));
    const lung = card('lung-nodules');
    fireEvent.change(within(lung).getByRole('combobox', { name: 'version to pin for lung-nodules' }), { target: { value: '1.0.0' } });
    fireEvent.click(within(lung).getByRole('button', { name: 'Pin' }));
    await waitFor(() => expect(within(lung).getByTestId('pinned').textContent).toBe('pinned 1.0.0'));
    const pin = calls.find((c) => c.method === 'POST')!;
    expect(pin.url).toBe('/api/v1/apps/lung-nodules/pin');
    expect((pin.body as { version: string }).version).toBe('1.0.0');
    expect(pin.headers['X-Radflow-Reader']).toBe('dr.admin');
    await waitFor(() => expect(within(lung).getByTestId('audit').textContent).toContain('dr.admin pinned 1.0.0'));
    expect(within(lung).getByTestId('running-version').textContent).toBe('1.0.0');
    fireEvent.click(within(lung).getByRole('button', { name: 'Unpin' }));
    await waitFor(() => expect(within(lung).getByTestId('audit').textContent).toContain('dr.admin unpinned'));
    expect(within(lung).getByTestId('pinned').textContent).toContain('not pinned');
  });

  it('enables and disables, and refuses without a reader name', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getAllByRole('article')).toHaveLength(2));
    const head = card('ct-head-bleed');
    fireEvent.click(within(head).getByRole('button', { name: 'Enable' }));
    await waitFor(() => expect(within(head).getByTestId('app-state').textContent).toBe('enabled'));
    await waitFor(() => expect(within(head).getByTestId('audit').textContent).toContain('dr.admin enabled'));
    setReader('');
    fireEvent.click(within(head).getByRole('button', { name: 'Disable' }));
    expect(within(head).getByRole('alert').textContent).toContain('Enter your name');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('shows the server refusal', async () => {
    apps[0].versions = ['1.1.0', '0.9'];
    render(<App />);
    await waitFor(() => expect(screen.getAllByRole('article')).toHaveLength(2));
    const lung = card('lung-nodules');
    apps[0].versions = ['1.1.0'];      // removed meanwhile
    fireEvent.change(within(lung).getByRole('combobox', { name: 'version to pin for lung-nodules' }), { target: { value: '0.9' } });
    fireEvent.click(within(lung).getByRole('button', { name: 'Pin' }));
    expect((await within(lung).findByRole('alert')).textContent).toContain('version 0.9 is not installed');
  });

  it('opens one app at /apps/ID with its recent jobs', async () => {
    window.history.replaceState(null, '', '/apps/lung-nodules');
    render(<App />);
    await waitFor(() => expect(screen.getAllByRole('article')).toHaveLength(1));
    await waitFor(() => expect(card('lung-nodules').textContent).toContain('2 nodules'));
    expect(card('lung-nodules').className).toContain('open');
  });
});
