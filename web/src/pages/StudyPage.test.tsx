import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, item, type Call } from '../test/fakes';

let calls: Call[];
let conformance: unknown;

beforeEach(() => {
  localStorage.clear();
  conformance = { study_instance_uid: '1.2.3', instances: [
    { series_instance_uid: '9.1', sop_instance_uid: '7.7', sop_class_uid: '1.2.840.10008.5.1.4.1.1.2', iod: 'CT Image', problems: [] },
  ] };
  setReader('dr.a');
  FakeEventSource.install();
  const study = item({ study_uid: '1.2.3', accession_number: 'A77', order_priority: 'HIGH',
                       referring_physician: 'Who^Doctor', site: 'North Hospital', state: 'in_progress', reader: 'dr.b' });
  calls = installFetch((c) => {
    if (c.url === '/api/v1/studies/1.2.3') {
      return { body: { study, series: [
        { series_uid: '9.1', modality: 'CT', series_number: 2, series_description: 'Axial 5mm', body_part: 'HEAD', num_instances: 30, first_sop_uid: '7.7' },
        { series_uid: '9.2', modality: 'SR', series_number: 900, series_description: 'AI report', body_part: '', num_instances: 1, first_sop_uid: '' },
      ] } };
    }
    if (c.url === '/api/v1/worklist/1.2.3') {
      return { body: { ...study, audit: [{ at: Date.now() - 60_000, reader: 'dr.b', action: 'claim', from: 'unread', to: 'in_progress', note: '' }] } };
    }
    if (c.url.endsWith('/findings')) return { body: [] };
    if (c.url.startsWith('/api/v1/jobs?study=1.2.3')) return { body: [{ id: 5, app_id: 'ct-head-bleed', app_version: '1.0', state: 'succeeded', attempts: 1, max_attempts: 3, duration_ms: 4200, error: '', summary: 'no bleed' }] };
    if (c.url.endsWith('/priors')) return { body: { study_uid: '1.2.3', priors: [{ study_uid: '1.2.0', study_date: '20230101', modalities: 'CT', body_part: 'HEAD', study_description: 'old', score: 96.3, reasons: ['same body region +50'], local: true }] } };
    if (c.url.endsWith('/lesions')) {
      return { body: { study_uid: '1.2.3', prior_study_uid: '1.2.0', state: 'ok', error: '', interval_days: 365, lesions: [
        { tracking_uid: 't1', tracking_id: 'Lesion 1', status: 'tracked', volume_change_pct: 25, diameter_change_mm: 1.5, doubling_time_days: 300, current: { size_mm: 8, volume_ml: 0.3 }, prior: { size_mm: 7 } },
        { tracking_uid: 't2', tracking_id: 'Lesion 2', status: 'new', volume_change_pct: null, diameter_change_mm: null, doubling_time_days: null, current: { size_mm: 5 }, prior: null },
      ] } };
    }
    if (c.url === '/api/v1/studies/1.2.3/conformance' && conformance) return { body: conformance };
    if (c.url.endsWith('/claim')) return { status: 409, body: { error: 'claimed by dr.b', code: 'conflict', holder: 'dr.b' } };
    return undefined;
  });
  window.history.replaceState(null, '', '/study/1.2.3');
});
afterEach(() => cleanup());

describe('study page', () => {
  it('shows order, series thumbnails, jobs, priors, lesions and the audit trail', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('accession').textContent).toBe('A77'));
    const imgs = [...document.querySelectorAll('figure.series img')] as HTMLImageElement[];
    expect(imgs).toHaveLength(1);
    expect(imgs[0].getAttribute('src')).toBe('/dicom-web/studies/1.2.3/series/9.1/instances/7.7/thumbnail');
    expect(document.querySelectorAll('figure.series')).toHaveLength(2);
    expect(screen.getByText('North Hospital')).toBeTruthy();
    expect(screen.getByText('Who Doctor')).toBeTruthy();
    await waitFor(() => expect(screen.getByText('no bleed')).toBeTruthy());
    expect(screen.getByText('96.3')).toBeTruthy();
    expect(screen.getByText('+25.0 %')).toBeTruthy();
    expect(screen.getByText('300 d')).toBeTruthy();
    expect(screen.getByText('8.0 mm / 0.30 mL')).toBeTruthy();
    expect(document.querySelector('tr.lesion-new')?.textContent).toContain('Lesion 2');
    expect(screen.getByTestId('lesion-followup').textContent).toBe('against prior 1.2.0 · 365 days apart');
    expect(screen.getByTestId('audit').textContent).toContain('unread → in_progress');
    expect(screen.getByTestId('holder').textContent).toContain('dr.b');
  });

  it('says when every instance meets its IOD', async () => {
    render(<App />);
    expect((await screen.findByTestId('conformance-summary')).textContent)
      .toBe('All 1 instance meet the checked requirements of their IOD.');
    expect(screen.queryByTestId('conformance')).toBeNull();
  });

  it('lists the conformance problems of the stored instances', async () => {
    conformance = { study_instance_uid: '1.2.3', instances: [
      { series_instance_uid: '9.1', sop_instance_uid: '7.7', sop_class_uid: '1.2.840.10008.5.1.4.1.1.2', iod: 'CT Image', problems: [] },
      { series_instance_uid: '9.2', sop_instance_uid: '1.2.3.4.5.6.7.8.9.10.11.12.99', sop_class_uid: '1.2.840.10008.5.1.4.1.1.77.1.6', iod: '',
        problems: ['missing Type 1 ImageType (0008,0008): Whole Slide Microscopy Image module (PS3.3 C.8.12.4)',
                   'missing Type 1 OpticalPathSequence (0048,0105): Optical Path module (PS3.3 C.8.12.5)'] },
    ] };
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('conformance')).toBeTruthy());
    expect(screen.getByTestId('conformance-summary').textContent)
      .toBe('2 problems in 1 of 2 instances (stored anyway; viewers may not show them).');
    const rows = [...document.querySelectorAll('table.conformance tbody tr')];
    expect(rows).toHaveLength(1);
    expect(rows[0].getAttribute('data-sop-uid')).toBe('1.2.3.4.5.6.7.8.9.10.11.12.99');
    expect(rows[0].textContent).toContain('900 SR AI report');
    expect(rows[0].textContent).toContain('VL Whole Slide Microscopy');
    expect([...rows[0].querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'missing Type 1 ImageType (0008,0008): Whole Slide Microscopy Image module (PS3.3 C.8.12.4)',
      'missing Type 1 OpticalPathSequence (0048,0105): Optical Path module (PS3.3 C.8.12.5)',
    ]);
  });

  it('keeps repeated problems apart and reloads the report only when instances may have changed', async () => {
    const twice = 'missing Type 2 PatientOrientation (0020,0020): General Image module (PS3.3 C.7.6.1)';
    conformance = { study_instance_uid: '1.2.3', instances: [
      { series_instance_uid: '9.1', sop_instance_uid: '7.7', sop_class_uid: '1.2.840.10008.5.1.4.1.1.2', iod: 'CT Image', problems: [twice, twice] },
    ] };
    const consoleError = vi.spyOn(console, 'error');
    render(<App />);
    await waitFor(() => expect(document.querySelectorAll('table.conformance li')).toHaveLength(2));
    // React reports duplicate keys on console.error ("Encountered two children with the same key").
    expect(consoleError.mock.calls.filter((c) => /same key/.test(String(c[0])))).toEqual([]);
    consoleError.mockRestore();
    const loads = () => calls.filter((c) => c.url === '/api/v1/studies/1.2.3/conformance').length;
    const before = loads();
    const es = FakeEventSource.instances.at(-1)!;
    act(() => {
      es.emit('worklist', { study_uid: '1.2.3', reason: 'claimed' });
      es.emit('worklist', { study_uid: '1.2.3', reason: 'state' });
    });
    await waitFor(() => expect(calls.filter((c) => c.url === '/api/v1/worklist/1.2.3').length).toBeGreaterThan(1));
    await new Promise((r) => setTimeout(r, 150));
    expect(loads()).toBe(before);
    act(() => { es.emit('worklist', { study_uid: '1.2.3', reason: 'updated' }); });
    await waitFor(() => expect(loads()).toBe(before + 1));
  });

  it('says when the conformance report cannot be loaded', async () => {
    conformance = undefined;
    render(<App />);
    expect((await screen.findByTestId('conformance-error')).textContent).toMatch(/^Conformance report unavailable: /);
  });

  it('names the holder when a claim is refused', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getByTestId('accession')).toBeTruthy());
    fireEvent.click(screen.getByTestId('action-claim'));
    expect((await screen.findByTestId('message')).textContent).toContain('Claimed by dr.b');
    expect(calls.find((c) => c.url.endsWith('/claim'))!.headers['X-Radflow-Reader']).toBe('dr.a');
  });
});
