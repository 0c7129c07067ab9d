import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { Order, UnmatchedStudy } from '../api/orders';
import { dayOf, dayRange, shiftDay } from '../lib/exams';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';

// A fake of the orders REST (docs/orders.md): the orders of today, the rule set's
// protocols, the unmatched studies; POSTs change them as the server would.
let list: Order[];
let unmatched: UnmatchedStudy[];
let calls: Call[];
let failStatus: { id: number; status: number; error: string } | null;

const at = (h: number, m = 0) => { const d = new Date(); d.setHours(h, m, 0, 0); return d.getTime(); };

function order(over: Partial<Order>): Order {
  return {
    id: 1, placer_order_number: 'P1', filler_order_number: '', accession_number: 'A1', patient_id: 'PID1',
    issuer_of_patient_id: '', patient_name: 'Doe^Jane', birth_date: '19600101', sex: 'F', requested_procedure_id: 'A1',
    procedure_code: 'CTHEAD', procedure_scheme: 'L', procedure_text: 'CT HEAD', modality: 'CT', body_part: 'HEAD',
    priority: 'ROUTINE', reason: 'headache', referring_physician: 'Ref^Doc', station_ae: 'CT1', station_name: 'CT Room 1',
    procedure_step_id: 'SPS1', study_uid: '1.2.3.1', scheduled_at: at(9), duration_minutes: 15, booked_at: at(7) - 86_400_000,
    status: 'scheduled', protocol_code: 'CTHEAD-NC', protocol_name: 'CT head without contrast',
    protocol_reason: "procedure 'CT HEAD' and reason 'headache' (rule ct-head-headache)", protocol_rule: 'ct-head-headache',
    protocol_state: 'proposed', protocol_by: '', reminder_sent: false, noshow_risk: 0.1, mpps_uid: '', performed_start: 0,
    performed_end: 0, linked_study_uid: '', source: 'hl7', created_at: 1, updated_at: 1, ...over,
  };
}

const PROTOCOLS = { rules: [
  { id: 'ct-head-stroke', protocol_code: 'CTHEAD-NC', protocol_name: 'CT head without contrast', modality: 'CT' },
  { id: 'ct-head-trauma', protocol_code: 'CTHEAD-NC', protocol_name: 'CT head without contrast', modality: 'CT' },
  { id: 'cta-head-neck', protocol_code: 'CTA-HN', protocol_name: 'CTA head and neck', modality: 'CT', contrast: 'iv' },
  { id: 'mr-brain', protocol_code: 'MRBRAIN-WWO', protocol_name: 'MR brain with and without', modality: 'MR' },
  { rule_id: 'xr-chest-2v', protocol_code: 'XRCHEST-2V', protocol_name: 'XR chest PA and lateral', modality: 'CR|DX|XR' },
  { rule_id: 'mr-any', protocol_code: 'MR-ANY', protocol_name: 'MR any', modality: 'CT|MR' },
] };

beforeEach(() => {
  window.history.replaceState(null, '', '/exams');
  setReader('');
  FakeEventSource.install();
  failStatus = null;
  list = [
    order({ id: 1, scheduled_at: at(9), patient_name: 'Early^Routine' }),
    order({ id: 2, scheduled_at: at(11), priority: 'STAT', accession_number: 'A2', patient_id: 'PID2', patient_name: 'Late^Stat',
            reason: 'sudden left weakness, suspected stroke', noshow_risk: -1 }),
    order({ id: 3, scheduled_at: at(8), status: 'completed', accession_number: 'A3', patient_name: 'Done^Already',
            performed_start: at(8, 2), performed_end: at(8, 14), mpps_uid: '1.2.9.3', protocol_state: 'accepted', protocol_by: 'tech' }),
    order({ id: 4, scheduled_at: at(10), station_ae: 'MR1', station_name: 'MR 1.5T', modality: 'MR', accession_number: 'A4',
            procedure_text: 'MR BRAIN', patient_name: 'Often^Away', patient_id: 'PID4', noshow_risk: 0.52,
            protocol_code: '', protocol_name: '', protocol_reason: '', protocol_state: '' }),
    order({ id: 5, scheduled_at: at(12), status: 'cancelled', accession_number: 'A5', patient_name: 'Cancelled^One' }),
  ];
  unmatched = [{ study_uid: '1.2.99', accession_number: 'X9', patient_id: 'PID4', patient_name: 'Often^Away', modalities: 'MR',
                 study_date: '20261207', arrived_at: at(7), resolved_by: '', resolved_order_id: 0 }];
  calls = installFetch((c) => {
    const path = c.url.split('?')[0];
    if (path === '/api/v1/orders' && c.method === 'GET') {
      const q = new URLSearchParams(c.url.split('?')[1] ?? '');
      const from = Number(q.get('from') ?? 0);
      const to = Number(q.get('to') ?? 0);
      const patient = q.get('patient');
      const items = list.filter((o) => (!from || o.scheduled_at >= from) && (!to || o.scheduled_at < to) && (!patient || o.patient_id === patient));
      return { body: { total: items.length, items } };
    }
    if (c.url === '/api/v1/protocols') return { body: PROTOCOLS };
    if (path === '/api/v1/reconciliation' && c.method === 'GET') {
      return { body: c.url.endsWith('all=1') ? unmatched : unmatched.filter((u) => !u.resolved_by) };
    }
    if (c.url === '/api/v1/reconciliation' && c.method === 'POST') {
      const b = c.body as { study_uid: string; order_id: number };
      const u = unmatched.find((x) => x.study_uid === b.study_uid)!;
      u.resolved_by = 'tech';
      u.resolved_order_id = b.order_id;
      if (b.order_id) list.find((o) => o.id === b.order_id)!.linked_study_uid = b.study_uid;
      return { body: {} };
    }
    const m = /^\/api\/v1\/orders\/(\d+)(?:\/(\w+))?$/.exec(c.url);
    if (m) {
      const o = list.find((x) => x.id === Number(m[1]));
      if (!o) return { status: 404, body: { error: 'no order', code: 'not_found' } };
      const b = c.body as Record<string, string>;
      if (m[2] === 'audit') return { body: [{ id: 1, order_id: o.id, at: at(7), user: 'hl7:RIS', action: 'created', note: 'ORM^O01 NW' }] };
      if (m[2] === 'status') {
        if (failStatus && failStatus.id === o.id) return { status: failStatus.status, body: { error: failStatus.error, code: 'conflict' } };
        o.status = b.status;
      }
      if (m[2] === 'protocol') {
        if (b.action === 'accept') o.protocol_state = 'accepted';
        else { o.protocol_state = 'changed'; o.protocol_code = b.protocol_code; o.protocol_name = b.protocol_name; }
        o.protocol_by = 'tech';
      }
      if (m[2] === 'reminder') o.reminder_sent = true;
      o.updated_at += 1;
      return { body: o };
    }
    return undefined;
  }, { user: 'tech', role: 'technologist' });
});
afterEach(() => cleanup());

const row = (id: number) => document.querySelector(`tr[data-order-id="${id}"]`) as HTMLElement;
const rowIds = (station: string) =>
  [...screen.getByTestId(`exams-${station}`).querySelectorAll('tr[data-order-id]')].map((r) => Number((r as HTMLElement).dataset.orderId));
const posts = () => calls.filter((c) => c.method === 'POST');

describe('exams page', () => {
  it("lists today's exams per station, STAT first and marked, with reason, protocol, status and risk", async () => {
    render(<App />);
    await waitFor(() => expect(row(2)).not.toBeNull());
    const get = calls.find((c) => c.url.startsWith('/api/v1/orders?'))!;
    const q = new URLSearchParams(get.url.split('?')[1]);
    expect([Number(q.get('from')), Number(q.get('to'))]).toEqual(dayRange(dayOf(Date.now())));
    // CT1: the STAT exam on top though scheduled later, then by time, the completed one last; cancelled hidden
    expect(rowIds('CT1')).toEqual([2, 1, 3]);
    expect(rowIds('MR1')).toEqual([4]);
    expect(row(2).className).toContain('stat');
    expect(row(1).className).not.toContain('stat');
    expect(within(row(2)).getByTestId('priority').textContent).toBe('STAT');
    expect(row(2).textContent).toContain('suspected stroke');
    expect(screen.getByTestId('stat-alert').textContent).toBe('1 STAT waiting');
    expect(within(row(1)).getByTestId('protocol').textContent).toContain('CT head without contrast');
    expect(within(row(1)).getByTestId('protocol').textContent).toContain('rule ct-head-headache');
    expect(within(row(3)).getByTestId('status').textContent).toBe('completed');
    expect(row(3).textContent).toMatch(/MPPS \d\d:\d\d–\d\d:\d\d/);
    expect(within(row(3)).queryByTestId('mark-arrived')).toBeNull();
    expect(within(row(4)).getByTestId('risk').textContent).toBe('52 %');
    expect(within(row(4)).getByTestId('risk').className).toContain('risk-high');
    expect(within(row(2)).queryByTestId('risk')).toBeNull();  // not scored
    expect(row(5)).toBeNull();
    fireEvent.click(screen.getByTestId('show-cancelled'));
    await waitFor(() => expect(row(5)).not.toBeNull());
    expect(window.location.search).toBe('?cancelled=1');
  });

  it('accepts a proposed protocol, and changes one from the rule set (same modality)', async () => {
    render(<App />);
    await waitFor(() => expect(row(1)).not.toBeNull());
    fireEvent.click(within(row(1)).getByTestId('protocol-accept'));
    await waitFor(() => expect(within(row(1)).getByTestId('protocol').dataset.state).toBe('accepted'));
    expect(posts()).toHaveLength(1);
    expect(posts()[0]).toMatchObject({ url: '/api/v1/orders/1/protocol', body: { action: 'accept' } });
    expect(screen.getByTestId('message').textContent).toContain('Accepted CT head without contrast');

    fireEvent.click(within(row(2)).getByTestId('protocol-change'));
    const select = within(row(2)).getByTestId('protocol-select') as HTMLSelectElement;
    // the CT protocols once each (and the CT|MR one), not the MR-only or the CR|DX|XR ones
    expect([...select.options].map((o) => o.value)).toEqual(['CTHEAD-NC', 'CTA-HN', 'MR-ANY']);  // by modality, name
    fireEvent.change(select, { target: { value: 'CTA-HN' } });
    fireEvent.click(within(row(2)).getByTestId('protocol-save'));
    await waitFor(() => expect(within(row(2)).getByTestId('protocol').dataset.state).toBe('changed'));
    expect(posts()[1].body).toMatchObject({ action: 'change', protocol_code: 'CTA-HN', protocol_name: 'CTA head and neck' });
    expect(within(row(2)).getByTestId('protocol').textContent).toContain('CTA head and neck');
    expect(within(row(2)).getByTestId('contrast').textContent).toBe('IV contrast');  // from the rule set
    expect(within(row(1)).queryByTestId('contrast')).toBeNull();
    // no proposal: Choose
    expect(within(row(4)).getByTestId('protocol-change').textContent).toBe('Choose');
  });

  it('marks arrived, no-show and back, and shows a refusal', async () => {
    render(<App />);
    await waitFor(() => expect(row(1)).not.toBeNull());
    fireEvent.click(within(row(1)).getByTestId('mark-arrived'));
    await waitFor(() => expect(within(row(1)).getByTestId('status').textContent).toBe('arrived'));
    fireEvent.click(within(row(1)).getByTestId('mark-scheduled'));
    await waitFor(() => expect(within(row(1)).getByTestId('status').textContent).toBe('scheduled'));
    fireEvent.click(within(row(4)).getByTestId('mark-noshow'));
    await waitFor(() => expect(within(row(4)).getByTestId('status').textContent).toBe('no-show'));
    expect(posts().map((c) => [c.url, (c.body as { status: string }).status])).toEqual([
      ['/api/v1/orders/1/status', 'arrived'], ['/api/v1/orders/1/status', 'scheduled'], ['/api/v1/orders/4/status', 'no_show']]);
    failStatus = { id: 2, status: 409, error: 'order 2 is in_progress: cannot mark arrived' };
    fireEvent.click(within(row(2)).getByTestId('mark-arrived'));
    await waitFor(() => expect(screen.getByTestId('message').textContent).toContain('cannot mark arrived'));
    expect(screen.getByTestId('message').getAttribute('role')).toBe('alert');
    expect(within(row(2)).getByTestId('status').textContent).toBe('scheduled');
  });

  it('notes the reminder call of a high-risk appointment', async () => {
    render(<App />);
    await waitFor(() => expect(row(4)).not.toBeNull());
    expect(within(row(1)).queryByTestId('mark-reminded')).toBeNull();  // low risk
    fireEvent.click(within(row(4)).getByTestId('mark-reminded'));
    await waitFor(() => expect(row(4).textContent).toContain('reminded'));
    expect(posts()[0]).toMatchObject({ url: '/api/v1/orders/4/reminder', body: { sent: true } });
  });

  it('links a study without an order to one of the patient, and dismisses another', async () => {
    unmatched.push({ study_uid: '1.2.100', accession_number: '', patient_id: 'PIDX', patient_name: 'Stray^Study', modalities: 'CT',
                     study_date: '20261207', arrived_at: at(7, 30), resolved_by: '', resolved_order_id: 0 });
    render(<App />);
    const panel = await screen.findByTestId('reconciliation');
    await waitFor(() => expect(within(panel).getByTestId('unmatched-count').textContent).toBe('2'));
    const first = () => panel.querySelector('tr[data-unmatched="1.2.99"]') as HTMLElement;
    fireEvent.click(within(first()).getByTestId('link-start'));
    const select = await waitFor(() => {
      const s = within(first()).getByTestId('link-order') as HTMLSelectElement;
      expect(s.value).toBe('4');  // the patient's own order first
      return s;
    });
    expect(calls.some((c) => c.url === '/api/v1/orders?patient=PID4&limit=50')).toBe(true);
    expect(select.options[0].textContent).toContain('★');
    fireEvent.click(within(first()).getByTestId('link-submit'));
    await waitFor(() => expect(within(panel).getByTestId('unmatched-count').textContent).toBe('1'));
    expect(posts()[0]).toMatchObject({ url: '/api/v1/reconciliation', body: { study_uid: '1.2.99', order_id: 4 } });
    await waitFor(() => expect(within(row(4)).getByText('images')).toBeTruthy());  // the order now has its study
    fireEvent.click(within(panel.querySelector('tr[data-unmatched="1.2.100"]') as HTMLElement).getByTestId('dismiss'));
    await waitFor(() => expect(within(panel).getByTestId('unmatched-count').textContent).toBe('0'));
    expect(posts()[1]).toMatchObject({ body: { study_uid: '1.2.100', order_id: 0 } });
    fireEvent.click(within(panel).getByTestId('unmatched-all'));
    await waitFor(() => expect(panel.textContent).toContain('dismissed by tech'));
    expect(panel.textContent).toContain('linked to order #4 by tech');
  });

  it('opens the details of an exam with its history, and goes to another day', async () => {
    render(<App />);
    await waitFor(() => expect(row(1)).not.toBeNull());
    fireEvent.click(within(row(1)).getByTestId('exam-toggle'));
    const details = await screen.findByTestId('exam-details');
    await waitFor(() => expect(details.textContent).toContain('ORM^O01 NW'));
    expect(details.textContent).toContain('Ref, Doc');
    fireEvent.click(screen.getByTestId('day-prev'));
    const yesterday = shiftDay(dayOf(Date.now()), -1);
    await waitFor(() => expect(screen.getByTestId('no-exams').textContent).toContain(yesterday));
    expect(window.location.search).toBe(`?day=${yesterday}`);
    const last = calls.filter((c) => c.url.startsWith('/api/v1/orders?from=')).pop()!;
    expect(Number(new URLSearchParams(last.url.split('?')[1]).get('from'))).toBe(dayRange(yesterday)![0]);
    fireEvent.click(screen.getByTestId('day-today'));
    await waitFor(() => expect(row(1)).not.toBeNull());
  });

  it('is in the technologist\'s and the administrator\'s header, not the radiologist\'s', async () => {
    render(<App />);
    expect((await screen.findByTestId('nav-exams')).className).toBe('active');
    cleanup();
    window.history.replaceState(null, '', '/exams');
    installFetch(() => undefined, { user: 'dr.kim', role: 'radiologist' });
    render(<App />);
    expect((await screen.findByTestId('forbidden')).textContent).toContain('radiologist');
    expect(screen.queryByTestId('nav-exams')).toBeNull();
  });
});

describe('exams helpers', () => {
  it('computes days', async () => {
    const { compareExams, countExams, groupByStation, riskLevel, searchToExamsView, examsViewToSearch, isLate } = await import('../lib/exams');
    expect(dayRange('2026-02-30')).toBeNull();
    expect(dayRange('nope')).toBeNull();
    const [s, e] = dayRange('2026-03-29')!;
    expect(new Date(s).getHours()).toBe(0);
    expect(new Date(e).getDate()).toBe(30);
    expect(shiftDay('2026-12-31', 1)).toBe('2027-01-01');
    expect(shiftDay('2026-03-01', -1)).toBe('2026-02-28');
    expect(riskLevel(-1)).toBe('none');
    expect(riskLevel(0.05)).toBe('low');
    expect(riskLevel(0.2)).toBe('moderate');
    expect(riskLevel(0.35)).toBe('high');
    expect(riskLevel(Number.NaN)).toBe('none');
    const a = order({ id: 1, scheduled_at: 100, priority: 'HIGH' });
    const b = order({ id: 2, scheduled_at: 50 });
    const c = order({ id: 3, scheduled_at: 10, status: 'no_show' });
    const d = order({ id: 4, scheduled_at: 200, priority: 'STAT', station_ae: '' });
    expect([c, b, a].sort(compareExams).map((o) => o.id)).toEqual([1, 2, 3]);
    expect(groupByStation([d, c, b, a]).map((g) => [g.station, g.items.map((o) => o.id)])).toEqual([['CT1', [1, 2, 3]], ['', [4]]]);
    expect(countExams([a, b, c, d, order({ status: 'cancelled' }), order({ status: 'in_progress' })]))
      .toEqual({ total: 5, toCome: 3, arrived: 0, inProgress: 1, done: 0, noShow: 1 });
    expect(isLate(order({ scheduled_at: 0 }), 1e12)).toBe(false);
    expect(isLate(order({ scheduled_at: 1000 }), 1000 + 16 * 60_000)).toBe(true);
    expect(isLate(order({ scheduled_at: 1000 }), 1000 + 14 * 60_000)).toBe(false);
    const v = searchToExamsView('?day=2026-12-01&station=CT1', '2026-12-07');
    expect(v).toEqual({ day: '2026-12-01', station: 'CT1', cancelled: false });
    expect(searchToExamsView('?day=garbage', '2026-12-07').day).toBe('2026-12-07');
    expect(examsViewToSearch({ day: '2026-12-07', station: '', cancelled: false }, '2026-12-07')).toBe('');
    expect(examsViewToSearch(v, '2026-12-07')).toBe('?day=2026-12-01&station=CT1');
  });
});
