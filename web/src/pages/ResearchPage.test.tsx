import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { Cohort, Criteria, ExportJob } from '../api/security';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { criteriaOf, EMPTY_FORM, formOf, formProblem, percent } from './research';

let calls: Call[];
let cohorts: Cohort[];
let job: ExportJob;
let polls: number;

const counts = (c: Criteria) => (c.modality?.includes('CT')
  ? { patients: 1, studies: 1, series: 2, instances: 60, lesions: c.finding ? 1 : 3 }
  : { patients: 2, studies: 3, series: 5, instances: 120, lesions: 3 });

beforeEach(() => {
  window.history.replaceState(null, '', '/research');
  setReader('res');
  FakeEventSource.install();
  cohorts = [];
  polls = 0;
  job = { id: 'e1', cohort: 'ct', version: 2, status: 'queued', done: 0, total: 0, error: '' };
  calls = installFetch((c) => {
    if (c.url === '/api/v1/research/cohorts/preview') return { body: counts((c.body as { criteria: Criteria }).criteria) };
    if (c.url === '/api/v1/research/cohorts' && c.method === 'GET') return { body: { cohorts } };
    if (c.url === '/api/v1/research/cohorts' && c.method === 'POST') {
      const b = c.body as { name: string; criteria: Criteria };
      const version = cohorts.filter((x) => x.name === b.name).length + 1;
      cohorts = [...cohorts.filter((x) => x.name !== b.name),
        { name: b.name, version, description: '', created_by: 'res', created_at: Date.now(), counts: counts(b.criteria) }];
      return { status: 201, body: { name: b.name, version, counts: counts(b.criteria) } };
    }
    if (c.url.startsWith('/api/v1/research/cohorts/ct')) {
      return { body: { name: 'ct', version: 2, criteria: { modality: ['CT'], finding: { min_size_mm: 4 } }, counts: counts({}), versions: [1, 2] } };
    }
    if (c.url === '/api/v1/research/exports' && c.method === 'GET') return { body: { exports: polls ? [job] : [] } };
    if (c.url === '/api/v1/research/exports' && c.method === 'POST') return { status: 202, body: { id: 'e1', status: 'queued' } };
    if (c.url === '/api/v1/research/exports/e1') {
      polls += 1;
      if (polls === 2) job = { ...job, status: 'running', done: 1, total: 4 };
      if (polls >= 3) job = { ...job, status: 'done', done: 4, total: 4 };
      return { body: job };
    }
    return undefined;
  }, { user: 'res', role: 'researcher' });
});
afterEach(() => cleanup());

const previews = () => calls.filter((c) => c.url === '/api/v1/research/cohorts/preview');
const shown = (k: string) => screen.getByTestId('preview-counts').querySelector(`[data-count="${k}"]`)?.textContent;

describe('research page', () => {
  it('shows live counts, asked once after typing stops', async () => {
    render(<App />);
    await waitFor(() => expect(shown('studies')).toBe('3'));
    const before = previews().length;
    for (const v of ['C', 'CT']) fireEvent.change(screen.getByTestId('c-modality'), { target: { value: v } });
    fireEvent.change(screen.getByTestId('c-min-size'), { target: { value: '4' } });
    await waitFor(() => expect(shown('lesions')).toBe('1'));
    expect(previews().length).toBe(before + 1);
    expect(previews().pop()!.body).toEqual({ criteria: { modality: ['CT'], finding: { min_size_mm: 4 } }, reader: 'res' });
  });

  it('saves a named cohort and shows its version, then exports it with progress to a download', async () => {
    render(<App />);
    fireEvent.change(await screen.findByTestId('c-modality'), { target: { value: 'ct' } });
    fireEvent.change(screen.getByTestId('cohort-name'), { target: { value: 'ct' } });
    fireEvent.click(screen.getByTestId('save-cohort'));
    await waitFor(() => expect(screen.getByTestId('message').textContent).toContain('Saved cohort ct version 1'));
    fireEvent.click(screen.getByTestId('save-cohort'));
    await waitFor(() => expect(screen.getByTestId('message').textContent).toContain('version 2'));
    fireEvent.click(await screen.findByTestId('choose-ct'));
    fireEvent.click(screen.getByTestId('opt-retain_dates'));
    fireEvent.click(screen.getByTestId('fmt-nifti'));
    fireEvent.click(screen.getByTestId('start-export'));
    await waitFor(() => expect(screen.getByTestId('export-progress').getAttribute('data-status')).toBe('queued'));
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/research/exports')!;
    expect(post.body).toMatchObject({
      cohort: 'ct', version: 2, formats: ['dicom', 'csv'],
      options: { retain_dates: true, retain_patient_chars: false, retain_device: false, clean_pixels: false },
    });
    await waitFor(() => expect(screen.getByTestId('export-progress').textContent).toContain('1 of 4'), { timeout: 3000 });
    expect((screen.getByTestId('export-progress').querySelector('progress') as HTMLProgressElement).value).toBe(25);
    const link = await screen.findByTestId('export-download', {}, { timeout: 3000 });
    expect(link.getAttribute('href')).toBe('/api/v1/research/exports/e1/download');
    // the list of exports shows the end as well
    await waitFor(() => expect(calls.filter((c) => c.method === 'GET' && c.url === '/api/v1/research/exports').length).toBe(3));
    const n = polls;
    await act(() => new Promise((r) => setTimeout(r, 1200)));
    expect(polls).toBe(n);  // no polling once done
  });

  it('loads a cohort\'s criteria back into the builder', async () => {
    cohorts = [{ name: 'ct', version: 2, description: 'd', created_by: 'res', created_at: 0, counts: counts({}) }];
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit criteria' }));
    await waitFor(() => expect((screen.getByTestId('c-modality') as HTMLInputElement).value).toBe('CT'));
    expect((screen.getByTestId('c-min-size') as HTMLInputElement).value).toBe('4');
    expect(calls.some((c) => c.url === '/api/v1/research/cohorts/ct?version=2')).toBe(true);
  });

  it('says what is wrong with the form and does not ask', async () => {
    render(<App />);
    await waitFor(() => expect(previews().length).toBe(1));
    fireEvent.change(screen.getByTestId('c-min-size'), { target: { value: '9' } });
    fireEvent.change(screen.getByTestId('c-max-size'), { target: { value: '3' } });
    expect((await screen.findByText(/minimum is above the maximum/))).toBeTruthy();
    expect(previews().length).toBe(1);
  });
});

describe('criteria', () => {
  it('sends only what is filled in, in the contract\'s shape', () => {
    expect(criteriaOf(EMPTY_FORM)).toEqual({});
    const f = { ...EMPTY_FORM, modality: 'ct, mr', body_part: 'chest', date_from: '2024-01-01', date_to: '2024-12-31',
      manufacturer: ' SIEMENS ', finding_type: 'nodule', max_size_mm: '30', severity: 'high',
      features: [{ name: 'morph_volume', min: '100', max: '' }, { name: '', min: '', max: '' }] };
    const c = criteriaOf(f);
    expect(c).toEqual({ modality: ['CT', 'MR'], body_part: ['CHEST'], study_date_from: '20240101', study_date_to: '20241231',
      manufacturer: 'SIEMENS', finding: { type: 'nodule', max_size_mm: 30, severity: 'high' }, features: [{ name: 'morph_volume', min: 100 }] });
    expect(criteriaOf(formOf(c))).toEqual(c);
  });
  it('finds the mistakes', () => {
    expect(formProblem({ ...EMPTY_FORM, min_size_mm: 'x' })).toContain('not a number');
    expect(formProblem({ ...EMPTY_FORM, date_from: '2024-02-01', date_to: '2024-01-01' })).toContain('first date');
    expect(formProblem({ ...EMPTY_FORM, features: [{ name: '', min: '1', max: '' }] })).toContain('feature name');
    expect(percent(1, 4)).toBe(25);
    expect(percent(0, 0)).toBeNull();
  });
});
