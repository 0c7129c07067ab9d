import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, item, type Call } from '../test/fakes';
import type { WorklistItem } from '../types';

let items: WorklistItem[];
let calls: Call[];

function rows() {
  return [...document.querySelectorAll('tbody tr[data-study-uid]')] as HTMLTableRowElement[];
}
function selectedUid() {
  return document.querySelector('tbody tr.selected')?.getAttribute('data-study-uid');
}
const key = (k: string) => fireEvent.keyDown(window, { key: k });

beforeEach(() => {
  window.history.replaceState(null, '', '/worklist');
  localStorage.clear();
  setReader('dr.a');
  FakeEventSource.install();
  items = [
    item({ study_uid: 'crit', patient_name: 'Bleed^Anna', ai_flag: 'critical', priority_score: 1000,
           priority_reasons: ['↑ critical: suspected haemorrhage 12 mL, ct-head-bleed 1.0'] }),
    item({ study_uid: 'stat', patient_name: 'Fast^Bob', order_priority: 'STAT', priority_score: 500,
           priority_reasons: ['↑ STAT order'] }),
    item({ study_uid: 'held', patient_name: 'Held^Cy', state: 'in_progress', reader: 'dr.b' }),
  ];
  calls = installFetch((c) => {
    if (c.method === 'GET' && c.url.startsWith('/api/v1/worklist?')) {
      return { body: { total: items.length, items, now: Date.now() } };
    }
    const m = /^\/api\/v1\/worklist\/([^/]+)\/(claim|release)$/.exec(c.url);
    if (m && c.method === 'POST') {
      const it = items.find((i) => i.study_uid === m[1])!;
      if (m[2] === 'claim' && it.reader && it.reader !== c.headers['X-Radflow-Reader']) {
        return { status: 409, body: { error: `claimed by ${it.reader}`, code: 'conflict', holder: it.reader } };
      }
      it.reader = m[2] === 'claim' ? c.headers['X-Radflow-Reader'] : '';
      it.state = m[2] === 'claim' ? 'in_progress' : 'unread';
      return { body: it };
    }
    return undefined;
  });
});
afterEach(() => cleanup());

describe('worklist page', () => {
  it('shows the items in server order with priority, reasons and state', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(rows().map((r) => r.dataset.studyUid)).toEqual(['crit', 'stat', 'held']);
    expect(rows()[0].className).toContain('critical');
    expect(rows()[1].className).toContain('stat');
    expect(rows()[0].textContent).toContain('suspected haemorrhage 12 mL');
    expect(rows()[0].textContent).toContain('Bleed, Anna');
    expect(rows()[0].textContent).toContain('12 min');
    expect(rows()[2].textContent).toContain('dr.b');
    expect(screen.getByTestId('count').textContent).toBe('1–3 of 3');
    const list = calls.find((c) => c.url.startsWith('/api/v1/worklist?'))!;
    expect(list.url).toBe('/api/v1/worklist?sort=priority&limit=50');
    expect(list.headers['X-Radflow-Reader']).toBe('dr.a');
  });

  it('moves with j/k and claims with c, naming the reader', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(selectedUid()).toBe('crit');
    key('j');
    expect(selectedUid()).toBe('stat');
    key('ArrowDown');
    key('ArrowDown');
    expect(selectedUid()).toBe('held');
    key('k');
    expect(selectedUid()).toBe('stat');
    key('c');
    await waitFor(() => expect(rows()[1].textContent).toContain('in progress'));
    const claim = calls.find((c) => c.method === 'POST')!;
    expect(claim.url).toBe('/api/v1/worklist/stat/claim');
    expect(claim.headers['X-Radflow-Reader']).toBe('dr.a');
    expect(rows()[1].textContent).toContain('dr.a');
    expect(selectedUid()).toBe('stat');
  });

  it('shows who holds a study when the claim is refused', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    key('j');
    key('j');
    key('c');
    const msg = await screen.findByTestId('message');
    expect(msg.textContent).toContain('Claimed by dr.b');
    expect(msg.getAttribute('role')).toBe('alert');
  });

  it('re-fetches on a server event and keeps the selection', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    key('j');
    expect(selectedUid()).toBe('stat');
    const before = calls.filter((c) => c.url.startsWith('/api/v1/worklist?')).length;
    items = [item({ study_uid: 'new', priority_score: 2000, ai_flag: 'critical' }), ...items];
    const es = FakeEventSource.instances.at(-1)!;
    expect(es.url).toBe('/api/v1/worklist/events');
    act(() => {
      es.open();
      es.emit('worklist', { study_uid: 'new', reason: 'arrived' });
      es.emit('worklist', { study_uid: 'new', reason: 'updated' });
    });
    await waitFor(() => expect(rows()).toHaveLength(4));
    expect(calls.filter((c) => c.url.startsWith('/api/v1/worklist?')).length).toBe(before + 1);
    expect(rows()[0].dataset.studyUid).toBe('new');
    expect(selectedUid()).toBe('stat');
    expect(screen.getByTestId('live').textContent).toContain('live');
  });

  it('sends filters as query parameters and keeps them in the URL', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    fireEvent.change(document.querySelector('select[name="modality"]')!, { target: { value: 'CT' } });
    fireEvent.change(document.querySelector('select[name="ai_flag"]')!, { target: { value: 'critical' } });
    await waitFor(() => expect(calls.at(-1)!.url).toContain('ai_flag=critical'));
    expect(calls.at(-1)!.url).toContain('modality=CT');
    expect(window.location.search).toBe('?modality=CT&ai_flag=critical');
  });

  it('focuses the patient filter with / and ignores keys while typing', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    key('/');
    const input = screen.getByTestId('filter-patient');
    expect(document.activeElement).toBe(input);
    fireEvent.keyDown(input, { key: 'j' });
    expect(selectedUid()).toBe('crit');
  });

  it('opens the reading view with Enter and the study page with s', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    key('j');
    key('s');
    expect(window.location.pathname).toBe('/study/stat');
    window.history.pushState(null, '', '/worklist');
    window.dispatchEvent(new PopStateEvent('popstate'));
    await waitFor(() => expect(rows()).toHaveLength(3));
    key('Enter');
    expect(window.location.pathname).toBe('/read/crit');
  });

  it('claims as the signed-in user, named in the header (no reader box)', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(screen.getByTestId('user-name').textContent).toBe('dr.a');
    expect(screen.queryByTestId('reader-input')).toBeNull();
    key('c');
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url.endsWith('/crit/claim'))).toBe(true));
  });
});
