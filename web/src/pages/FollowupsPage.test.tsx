import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { Followup } from '../api/admin';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { daysPastDue, effectiveState, formatExam, formatInterval, searchToFollowupView } from './FollowupsPage';

function ymd(daysFromToday: number): string {
  const d = new Date();
  d.setDate(d.getDate() + daysFromToday);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

let n = 0;
function fu(over: Partial<Followup>): Followup {
  n += 1;
  return {
    id: n, report_id: 100 + n, study_uid: `1.2.3.${n}`, patient_id: `P${n}`, issuer_of_patient_id: '',
    patient_name: `Doe^Jane${n}`, finding: 'pulmonary nodule', modality: 'CT', body_region: 'chest',
    interval_days: 90, conditional: false, text: 'Recommend follow-up CT chest in 3 months.',
    base_date: ymd(-120), due_date: ymd(-30), state: 'overdue', satisfied_by: '', closed_reason: '',
    closed_by: '', created_at: Date.now() - 120 * 86_400_000, ...over,
  };
}

let store: Followup[];
let calls: Call[];
beforeEach(() => {
  window.history.replaceState(null, '', '/followups');
  localStorage.clear();
  setReader('dr.a');
  FakeEventSource.install();
  store = [
    fu({ patient_name: 'Late^Lena', due_date: ymd(-10) }),
    fu({ patient_name: 'Later^Lou', due_date: ymd(-40), interval_days: [90, 180], modality: 'US', body_region: 'thyroid',
         finding: 'thyroid nodule', text: 'Ultrasound of the thyroid in 3 to 6 months is recommended.' }),
    fu({ patient_name: 'Soon^Sam', state: 'pending', due_date: ymd(20), interval_days: 365, conditional: true }),
    fu({ patient_name: 'Done^Dan', state: 'satisfied', satisfied_by: '9.9.9' }),
    fu({ patient_name: 'Shut^Shay', state: 'closed', closed_reason: 'patient declined', closed_by: 'dr.b' }),
  ];
  calls = installFetch((c) => {
    const url = new URL(c.url, 'http://x');
    if (c.method === 'GET' && url.pathname === '/api/v1/followups') {
      const state = url.searchParams.get('state');
      const pid = url.searchParams.get('patient_id');
      return { body: { followups: store.filter((f) => (!state || f.state === state) && (!pid || f.patient_id === pid)) } };
    }
    const m = /^\/api\/v1\/followups\/(\d+)\/close$/.exec(url.pathname);
    if (m && c.method === 'POST') {
      const f = store.find((x) => x.id === Number(m[1]))!;
      const body = c.body as { reason?: string };
      if (!body.reason) return { status: 400, body: { error: 'reason: required' } };
      Object.assign(f, { state: 'closed', closed_reason: body.reason, closed_by: c.headers['X-Radflow-Reader'] });
      return { body: f };
    }
    return undefined;
  });
});
afterEach(() => cleanup());

const rows = () => [...document.querySelectorAll('tbody tr[data-followup-id]')] as HTMLTableRowElement[];

describe('follow-up formatting', () => {
  it('says intervals as a person does', () => {
    expect(formatInterval(90)).toBe('3 months');
    expect(formatInterval(365)).toBe('1 year');
    expect(formatInterval(730)).toBe('2 years');
    expect(formatInterval(14)).toBe('2 weeks');
    expect(formatInterval(10)).toBe('10 days');
    expect(formatInterval([90, 180])).toBe('3–6 months');
    expect(formatInterval([90, 365])).toBe('90–365 days');
    expect(formatInterval([180, 180])).toBe('6 months');
    expect(formatInterval(null)).toBe('—');
    expect(formatExam({ modality: 'CT', body_region: 'chest' })).toBe('CT chest');
    expect(formatExam({ modality: '', body_region: '' })).toBe('—');
  });
  it('counts days past due by calendar date', () => {
    const today = new Date(2026, 2, 10, 23, 30);
    expect(daysPastDue('2026-03-01', today)).toBe(9);
    expect(daysPastDue('2026-03-10', today)).toBe(0);
    expect(daysPastDue('2026-03-20', today)).toBe(-10);
    expect(daysPastDue('bad', today)).toBeNull();
    expect(effectiveState(fu({ state: 'pending', due_date: '2026-03-01' }), today)).toBe('overdue');
    expect(effectiveState(fu({ state: 'pending', due_date: '2026-03-10' }), today)).toBe('pending');
    expect(searchToFollowupView('')).toEqual({ state: 'overdue', patient_id: '' });
    expect(searchToFollowupView('?state=bogus&patient_id=P1')).toEqual({ state: 'overdue', patient_id: 'P1' });
  });
});

describe('follow-ups page', () => {
  it('lists the overdue ones first, most overdue on top, with everything a row needs', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(calls[0].url).toBe('/api/v1/followups?state=overdue&limit=500');
    const [first, second] = rows();
    expect(first.textContent).toContain('Later, Lou');
    expect(first.textContent).toContain('thyroid nodule');
    expect(first.textContent).toContain('US thyroid');
    expect(first.textContent).toContain('3–6 months');
    expect(first.textContent).toContain('40 d');
    expect(first.textContent).toContain(ymd(-40));
    expect(first.textContent).toContain('Ultrasound of the thyroid in 3 to 6 months is recommended.');
    const link = within(first).getByText(/report \d+/) as HTMLAnchorElement;
    expect(link.getAttribute('href')).toBe(`/read/${encodeURIComponent(store[1].study_uid)}`);
    expect(second.textContent).toContain('10 d');
    expect(second.textContent).toContain('CT chest');
    expect(second.textContent).toContain('3 months');
    expect(first.className).toContain('fu-overdue');
  });

  it('switches state with the tabs and filters by patient', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(2));
    fireEvent.click(screen.getByRole('button', { name: 'Pending' }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(window.location.search).toBe('?state=pending');
    expect(rows()[0].textContent).toContain('in 20 d');
    expect(rows()[0].textContent).toContain('1 year');
    expect(rows()[0].textContent).toContain('if indicated');
    fireEvent.click(screen.getByRole('button', { name: 'Closed' }));
    await waitFor(() => expect(rows()[0]?.textContent).toContain('patient declined — dr.b'));
    expect(screen.queryByRole('button', { name: 'Close…' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'All' }));
    await waitFor(() => expect(rows()).toHaveLength(5));
    const input = screen.getByRole('textbox', { name: 'Patient ID' });
    fireEvent.change(input, { target: { value: store[3].patient_id } });
    fireEvent.submit(input.closest('form')!);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(calls.at(-1)!.url).toBe(`/api/v1/followups?patient_id=${store[3].patient_id}&limit=500`);
  });

  it('closes one with a reason, naming the reader', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(2));
    const id = Number(rows()[0].dataset.followupId);
    fireEvent.click(screen.getByTestId(`close-${id}`));
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Close' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Give a reason');
    fireEvent.change(screen.getByTestId(`close-reason-${id}`), { target: { value: 'performed at another hospital' } });
    fireEvent.click(within(rows()[0]).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe(`/api/v1/followups/${id}/close`);
    expect((post.body as { reason: string }).reason).toBe('performed at another hospital');
    expect(post.headers['X-Radflow-Reader']).toBe('dr.a');
    expect(screen.getByTestId('message').textContent).toContain('performed at another hospital');
  });

  it('shows the server error when the list fails', async () => {
    installFetch(() => ({ status: 500, body: { error: 'database is locked' } }));
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toContain('database is locked');
  });
});
