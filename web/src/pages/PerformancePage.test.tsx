import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { AppPerformance } from '../api/admin';
import { chartSeries, compareVersions, weekAxisTitle, weekTitle, weeklyRows } from '../components/charts/series';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { formatRate, searchToPerformanceView } from './PerformancePage';

function perf(over: Partial<AppPerformance>): AppPerformance {
  return {
    app_id: 'lung-nodules', app_version: '1.0.0', results: 0, findings: 0, decided: 0, accepted: 0, edited: 0,
    rejected: 0, accepted_rate: null, edited_rate: null, rejected_rate: null, agreement: null, weeks: [], ...over,
  };
}

const week = (w: number, results: number, a: number, e: number, r: number, agreement: number | null) => ({
  week: `2026-W${String(w).padStart(2, '0')}`,
  start: new Date(Date.UTC(2026, 0, 5 + 7 * (w - 2))).toISOString().slice(0, 10),
  results, findings: results * 2, accepted: a, edited: e, rejected: r, agreement,
});

const APPS: AppPerformance[] = [
  perf({ app_id: 'lung-nodules', app_version: '1.0.0', results: 20, findings: 40, decided: 20, accepted: 10, edited: 5,
         rejected: 5, accepted_rate: 0.5, edited_rate: 0.25, rejected_rate: 0.25, agreement: 0.75,
         weeks: [week(10, 12, 6, 3, 3, 0.75), week(11, 8, 4, 2, 2, 0.75)] }),
  perf({ app_id: 'lung-nodules', app_version: '1.1.0', results: 9, findings: 12, decided: 8, accepted: 7, edited: 1,
         rejected: 0, accepted_rate: 0.875, edited_rate: 0.125, rejected_rate: 0, agreement: 1,
         weeks: [week(11, 4, 3, 1, 0, 1), week(12, 5, 4, 0, 0, 1)] }),
  perf({ app_id: 'ct-head-bleed', app_version: '2.0', results: 3, findings: 3, weeks: [week(12, 3, 0, 0, 0, null)] }),
];

let calls: Call[];
beforeEach(() => {
  window.history.replaceState(null, '', '/performance');
  localStorage.clear();
  setReader('dr.a');
  FakeEventSource.install();
  calls = installFetch((c) => {
    if (c.method === 'GET' && c.url.startsWith('/api/v1/ai/performance')) {
      const id = new URL(c.url, 'http://x').searchParams.get('app_id');
      return { body: { apps: id ? APPS.filter((a) => a.app_id === id) : APPS } };
    }
    return undefined;
  });
});
afterEach(() => cleanup());

describe('weekly series', () => {
  it('takes the union of the weeks, gaps as null for rates and 0 for counts', () => {
    const agreement = weeklyRows(APPS, 'agreement');
    expect(agreement.map((r) => r.week)).toEqual(['2026-W10', '2026-W11', '2026-W12']);
    expect(agreement[0]['lung-nodules@1.0.0']).toBe(75);
    expect(agreement[0]['lung-nodules@1.1.0']).toBeNull();
    expect(agreement[2]['ct-head-bleed@2.0']).toBeNull();
    const acceptance = weeklyRows(APPS, 'acceptance');
    expect(acceptance[1]['lung-nodules@1.1.0']).toBe(75);   // 3 of 4 decided
    expect(acceptance[1]['n:lung-nodules@1.1.0']).toBe(4);
    const results = weeklyRows(APPS, 'results');
    expect(results[0]['lung-nodules@1.1.0']).toBe(0);
    expect(results[2]['ct-head-bleed@2.0']).toBe(3);
  });
  it('colours each version and dashes older versions', () => {
    const s = chartSeries(APPS);
    expect(new Set(s.map((x) => x.color)).size).toBe(3);
    expect(s[0].dashed).toBe(true);
    expect(s[1].dashed).toBe(false);
    expect(s[2].dashed).toBe(false);
    expect(weekAxisTitle(weeklyRows(APPS, 'results'))).toBe('ISO week 2026 (week number, and its Monday)');
    expect(weekAxisTitle([{ week: '2025-W52', start: '2025-12-22' }, { week: '2026-W01', start: '2025-12-29' }, { week: '2026-W02', start: '2026-01-05' }]))
      .toBe('ISO week 2025–2026 (week number, and its Monday)');
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
  });
  it('formats rates, weeks and the view', () => {
    expect(formatRate(0.875)).toBe('87.5 %');
    expect(formatRate(null)).toBe('—');
    expect(weekTitle('2026-W49', '2026-11-30')).toBe('2026-W49 (week of 30 Nov 2026)');
    expect(searchToPerformanceView('?app_id=x&weeks=26')).toEqual({ app_id: 'x', weeks: 26 });
    expect(searchToPerformanceView('?weeks=abc')).toEqual({ app_id: '', weeks: 12 });
  });
});

describe('AI performance page', () => {
  it('shows the table per app version and three readable plots', async () => {
    render(<App />);
    const table = await screen.findByTestId('perf-table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => `${r.dataset.app}@${r.dataset.version}`))
      .toEqual(['ct-head-bleed@2.0', 'lung-nodules@1.1.0', 'lung-nodules@1.0.0']);
    expect(rows[1].textContent).toContain('87.5 %');
    expect(rows[1].textContent).toContain('100.0 %');
    expect(rows[0].textContent).toContain('—');
    expect(calls[0].url).toBe('/api/v1/ai/performance?weeks=12');

    for (const id of ['chart-agreement', 'chart-acceptance', 'chart-results']) {
      const fig = screen.getByTestId(id);
      await waitFor(() => expect(fig.querySelector('svg.recharts-surface[role="application"]')).not.toBeNull());
      const text = fig.textContent ?? '';
      expect(text).toContain('ISO week');
      expect(text).toContain('W10');
      expect(text).toContain('W12');
      expect(text).toMatch(/\d+ (Mar|Feb)/);              // the Monday of the week
      expect(text).toContain('lung-nodules 1.1.0');        // legend
      expect(text).toContain('ct-head-bleed 2.0');
    }
    const agreement = screen.getByTestId('chart-agreement');
    expect(agreement.textContent).toContain('Agreement (%)');
    expect(agreement.textContent).toContain('100 %');
    expect(agreement.querySelectorAll('.recharts-line').length).toBe(3);
    expect(screen.getByTestId('chart-results').textContent).toContain('Results (count)');
    expect(screen.getByTestId('chart-results').querySelectorAll('.recharts-bar').length).toBe(3);
    // the weekly numbers as a table too
    expect(within(agreement).getByText('Weekly values')).toBeTruthy();
    expect(agreement.querySelector('.chart-data tbody')?.textContent).toContain('75.0 %');
  });

  it('filters by app through the URL', async () => {
    render(<App />);
    await screen.findByTestId('perf-table');
    fireEvent.change(screen.getByRole('combobox', { name: 'App' }), { target: { value: 'lung-nodules' } });
    await waitFor(() => expect(window.location.search).toBe('?app_id=lung-nodules'));
    await waitFor(() => expect(screen.getByTestId('perf-table').querySelectorAll('tbody tr').length).toBe(2));
    expect(calls.some((c) => c.url === '/api/v1/ai/performance?app_id=lung-nodules&weeks=12')).toBe(true);
  });

  it('says so in a plot with nothing to draw (weeks without decisions)', async () => {
    const zero = { ...week(48, 0, 0, 0, 0, null), decided: 0, signed_decided: 0 };
    installFetch((c) => (c.url.startsWith('/api/v1/ai/performance') ? { body: { apps: [perf({ app_id: 'test-threshold', app_version: '1.0.0', results: 1, findings: 8,
      weeks: [zero, { ...week(49, 1, 0, 0, 0, null), decided: 0, signed_decided: 0 }] })] } } : undefined));
    render(<App />);
    expect((await screen.findByTestId('chart-agreement-empty')).textContent).toContain('No decided findings of signed reports');
    expect(screen.getByTestId('chart-acceptance-empty').textContent).toContain('No findings decided');
    await waitFor(() => expect(screen.getByTestId('chart-results').querySelectorAll('.recharts-bar-rectangle').length).toBeGreaterThan(0));
    expect(screen.queryByTestId('chart-results-empty')).toBeNull();
  });

  it('says so when there is nothing yet', async () => {
    installFetch((c) => (c.url.startsWith('/api/v1/ai/performance') ? { body: { apps: [] } } : undefined));
    render(<App />);
    expect((await screen.findByTestId('perf-empty')).textContent).toContain('No AI results');
  });
});
