import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { Order } from '../api/orders';
import type { RiskyItem, StationDay } from '../api/scheduling';
import { addDays, daysLabel, isoDay, splitDay, weekStart } from '../lib/scheduling';
import { setReader } from '../lib/reader';
import { installFetch, type Call } from '../test/fakes';

// A fake of the scheduling REST (docs/scheduling.md): two scanners over the week asked for,
// figures counted by hand, and the risky appointments of the range.
let calls: Call[];
let risky: RiskyItem[];
let model: boolean;

const ymd = (ms: number) => isoDay(ms).replace(/-/g, '');

function day(station: string, start: number, over: Partial<StationDay> = {}): StationDay {
  return {
    station_ae: station, date: ymd(start), day_start: start, booked: 0, performed: 0, no_shows: 0, cancelled: 0,
    discontinued: 0, pending: 0, open_minutes: 600, booked_minutes: 0, performed_minutes: 0, idle_minutes: 600, elapsed_minutes: 600,
    unbooked_minutes: 600, no_show_minutes: 0, expected_no_shows: 0, scored: 0, ...over,
  };
}

function weekOf(from: number): StationDay[] {
  const out: StationDay[] = [];
  for (const st of ['CT1', 'MR1']) {
    for (let i = 0; i < 7; i++) {
      const d = addDays(from, i);
      if (st === 'CT1' && i === 0) {
        out.push(day(st, d, { booked: 10, performed: 7, no_shows: 2, cancelled: 1, pending: 1, booked_minutes: 200,
          performed_minutes: 150, no_show_minutes: 40, idle_minutes: 450, unbooked_minutes: 400, expected_no_shows: 1.6, scored: 10 }));
      } else if (st === 'MR1' && i === 1) {
        out.push(day(st, d, { booked: 6, performed: 5, no_shows: 1, booked_minutes: 240, performed_minutes: 200,
          no_show_minutes: 40, idle_minutes: 400, unbooked_minutes: 360, expected_no_shows: 0.9, scored: 6 }));
      } else {
        out.push(day(st, d));
      }
    }
  }
  return out;
}

function order(over: Partial<Order>): Order {
  return {
    id: 1, placer_order_number: 'P1', filler_order_number: '', accession_number: 'A1', patient_id: 'PID1',
    issuer_of_patient_id: '', patient_name: 'Doe^Jane', birth_date: '19600101', sex: 'F', requested_procedure_id: 'A1',
    procedure_code: 'MRKNEE', procedure_scheme: 'L', procedure_text: 'MR KNEE', modality: 'MR', body_part: 'KNEE',
    priority: 'ROUTINE', reason: 'pain', referring_physician: '', station_ae: 'MR1', station_name: 'MR 1.5T',
    procedure_step_id: 'SPS1', study_uid: '1.2.3', scheduled_at: Date.now() + 86_400_000, duration_minutes: 30,
    booked_at: Date.now() - 40 * 86_400_000, status: 'scheduled', protocol_code: '', protocol_name: '', protocol_reason: '',
    protocol_rule: '', protocol_state: '', protocol_by: '', reminder_sent: false, noshow_risk: 0.81, mpps_uid: '',
    performed_start: 0, performed_end: 0, linked_study_uid: '', source: 'rest', created_at: 1, updated_at: 1, ...over,
  };
}

beforeEach(() => {
  window.history.replaceState(null, '', '/scheduling');
  setReader('');
  model = true;
  risky = [
    { order: order({ id: 7, patient_name: 'Often^Away' }), action: 'overbook slot', why: 'no-show risk 81% (at least 70%) and no reminder sent' },
    { order: order({ id: 8, station_ae: 'CT1', patient_name: 'Maybe^Late', noshow_risk: 0.56, procedure_text: 'CT CHEST' }),
      action: 'reminder call', why: 'no-show risk 56% (at least 50%), no reminder sent yet' },
  ];
  calls = installFetch((c) => {
    const [path, query] = c.url.split('?');
    const q = new URLSearchParams(query ?? '');
    if (path === '/api/v1/scheduling/stations') {
      return { body: { stations: [
        { station_ae: 'CT1', station_name: 'CT Room 1', open: '08:00', close: '18:00', configured: true },
        { station_ae: 'MR1', station_name: 'MR 1.5T', open: '08:00', close: '18:00', days: 'Mon,Tue,Wed,Thu,Fri', configured: true },
      ] } };
    }
    if (path === '/api/v1/scheduling/days') {
      const from = Number(q.get('from'));
      const station = q.get('station') ?? '';
      const days = weekOf(from).filter((d) => !station || d.station_ae === station);
      return { body: { from, to: Number(q.get('to')), days } };
    }
    if (path === '/api/v1/scheduling/risky') {
      const threshold = Number(q.get('threshold'));
      return { body: { from: Number(q.get('from')), to: Number(q.get('to')), threshold, overbook: 0.7, model,
        items: model ? risky.filter((r) => r.order.noshow_risk >= threshold) : [] } };
    }
    return undefined;
  }, { user: 'boss', role: 'administrator' });
});
afterEach(() => cleanup());

const urlOf = (prefix: string) => calls.filter((c) => c.url.startsWith(prefix)).map((c) => new URLSearchParams(c.url.split('?')[1] ?? ''));

describe('scheduling page', () => {
  it('is in the header of administrators and opens on this week, local Monday to Monday', async () => {
    window.history.replaceState(null, '', '/worklist');
    calls = installFetch((c) => (c.url.startsWith('/api/v1/worklist') ? { body: { items: [], total: 0 } } : undefined),
      { user: 'boss', role: 'administrator' });
    render(<App />);
    const link = await screen.findByRole('link', { name: 'Scheduling' });
    expect(link.getAttribute('href')).toBe('/scheduling');
  });

  it('shows the totals, one chart per scanner, the no-show chart and the table of station-days', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getAllByTestId('station-chart')).toHaveLength(2));
    const q = urlOf('/api/v1/scheduling/days?')[0];
    const from = weekStart(Date.now());
    expect(Number(q.get('from'))).toBe(from);
    expect(Number(q.get('to'))).toBe(addDays(from, 7));
    expect(new Date(from).getDay()).toBe(1);  // a Monday
    expect(screen.getByTestId('tile-booked').textContent).toContain('16');
    expect(screen.getByTestId('tile-booked').textContent).toContain('1 cancelled');
    expect(screen.getByTestId('tile-performed').textContent).toContain('12');
    // 3 no-shows of 15 known outcomes
    expect(screen.getByTestId('tile-noshows').textContent).toContain('3');
    expect(screen.getByTestId('tile-noshows').textContent).toContain('rate 20 %');
    expect(screen.getByTestId('tile-noshows').textContent).toContain('1.3 h of slots lost');
    // idle: 450 + 400 + 12 × 600 = 8050 min = 134.2 h of 140 h open
    expect(screen.getByTestId('tile-idle').textContent).toContain('134.2 h');
    expect(screen.getByTestId('tile-idle').textContent).toContain('of 140 h open so far');
    const ct = screen.getAllByTestId('station-chart').find((s) => s.dataset.station === 'CT1')!;
    expect(ct.getAttribute('aria-label')).toBe('CT1 (CT Room 1): 7 of 10 booked exams performed, 2 no-shows this week');
    const bars = within(ct as HTMLElement).getAllByTestId('day-bar');
    expect(bars).toHaveLength(7);
    expect(bars[0].textContent).toContain('7/10');
    expect(bars[0].textContent).toContain('✕2');
    expect(bars[0].querySelector('[data-part=lost]')).not.toBeNull();
    const mr = screen.getAllByTestId('station-chart').find((s) => s.dataset.station === 'MR1')!;
    expect(within(mr as HTMLElement).getByTestId('station-hours').textContent).toBe('open 08:00–18:00 Mon–Fri');
    expect(screen.getByTestId('noshow-chart').getAttribute('aria-label')).toBe('No-shows this week: 3 happened, 2.5 expected by the model');
    const rows = screen.getByTestId('days-table').querySelectorAll('tbody tr');
    expect(rows).toHaveLength(14);
    const first = rows[0] as HTMLElement;
    expect(first.dataset.station).toBe('CT1');
    expect(first.querySelector('[data-col=no_shows]')!.textContent).toBe('2');
    expect(first.querySelector('[data-col=idle]')!.textContent).toBe('7.5 h');
  });

  it('lists the high-risk appointments with the suggested action and why', async () => {
    render(<App />);
    const table = await screen.findByTestId('risky-table');
    const rows = table.querySelectorAll('tbody tr');
    expect([...rows].map((r) => (r as HTMLElement).dataset.action)).toEqual(['overbook slot', 'reminder call']);
    expect(rows[0].textContent).toContain('Often');
    expect(within(rows[0] as HTMLElement).getByTestId('risk').textContent).toBe('81 %');
    expect(rows[0].textContent).toContain('no reminder sent');
    const q = urlOf('/api/v1/scheduling/risky?')[0];
    expect(Number(q.get('threshold'))).toBe(0.5);
    expect(Number(q.get('from'))).toBeGreaterThanOrEqual(weekStart(Date.now()));
    // a higher threshold leaves the 56 % one out
    fireEvent.change(screen.getByTestId('threshold'), { target: { value: '0.7' } });
    await waitFor(() => expect(screen.getByTestId('risky-table').querySelectorAll('tbody tr')).toHaveLength(1));
    expect(window.location.search).toBe('?threshold=0.7');
  });

  it('says when no model scores the appointments', async () => {
    model = false;
    render(<App />);
    expect((await screen.findByTestId('risky-empty')).textContent).toContain('No no-show model is loaded');
  });

  it('moves by week and filters one scanner, in the URL', async () => {
    render(<App />);
    await waitFor(() => expect(screen.getAllByTestId('station-chart')).toHaveLength(2));
    fireEvent.click(screen.getByRole('button', { name: 'previous week' }));
    const prev = addDays(weekStart(Date.now()), -7);
    await waitFor(() => expect(urlOf('/api/v1/scheduling/days?').some((q) => Number(q.get('from')) === prev)).toBe(true));
    expect(window.location.search).toBe(`?week=${isoDay(prev)}`);
    fireEvent.change(screen.getByTestId('station-filter'), { target: { value: 'MR1' } });
    await waitFor(() => expect(screen.getAllByTestId('station-chart')).toHaveLength(1));
    expect(urlOf('/api/v1/scheduling/days?').at(-1)!.get('station')).toBe('MR1');
    // a past week has no appointment still to come: no risky call for it
    const riskyCalls = urlOf('/api/v1/scheduling/risky?');
    expect(riskyCalls.every((q) => Number(q.get('from')) >= weekStart(Date.now()))).toBe(true);
  });
});

describe('daysLabel', () => {
  it('names the weekdays a scanner is open', () => {
    expect(daysLabel('Mon,Tue,Wed,Thu,Fri')).toBe('Mon–Fri');
    expect(daysLabel('Mon,Tue,Wed,Thu,Fri,Sat,Sun')).toBe('daily');
    expect(daysLabel(undefined)).toBe('daily');
    expect(daysLabel('Mon,Wed,Fri')).toBe('Mon, Wed, Fri');
    expect(daysLabel('')).toBe('closed');
  });
});

describe('splitDay', () => {
  it('splits the opening hours into parts that add up', () => {
    const d = day('CT1', 0, { booked_minutes: 200, performed_minutes: 150, no_show_minutes: 40 });
    expect(splitDay(d)).toEqual({ performed: 150, lost: 40, booked: 10, free: 400 });
    const over = day('CT1', 0, { open_minutes: 60, booked_minutes: 90, performed_minutes: 80, no_show_minutes: 30 });
    const s = splitDay(over);
    expect(s.performed + s.lost + s.booked + s.free).toBe(60);
    expect(s).toEqual({ performed: 60, lost: 0, booked: 0, free: 0 });
  });
});
