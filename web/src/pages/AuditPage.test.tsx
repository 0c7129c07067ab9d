import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import type { AuditRecord } from '../api/security';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { auditQueryOf, auditViewToSearch, dayStartIso, PAGE_SIZE, searchToAuditView } from './AuditPage';

let calls: Call[];
let records: AuditRecord[];
let verify: { ok: boolean; records: number; first_bad_seq: number | null; message: string };

function rec(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return { seq, at: 1_765_000_000_000 + seq * 1000, event: 'login', event_id: '110114', action: 'E', outcome: 'success',
           user: 'dr.kim', role: 'radiologist', source: '127.0.0.1', patient_id: '', patient_name: '', study_uid: '',
           detail: '', interface: 'http', ...over };
}

beforeEach(() => {
  window.history.replaceState(null, '', '/audit');
  setReader('admin');
  FakeEventSource.install();
  records = Array.from({ length: 120 }, (_, i) => rec(120 - i, i === 0 ? { event: 'retrieve', patient_id: 'PAT1', patient_name: 'Doe^Jane', study_uid: '1.2.3', outcome: 'failure' } : {}));
  verify = { ok: true, records: 120, first_bad_seq: null, message: '' };
  calls = installFetch((c) => {
    if (c.url === '/api/v1/audit/verify') return { body: verify };
    if (c.url.startsWith('/api/v1/audit?') || c.url === '/api/v1/audit') {
      const p = new URL(c.url, 'http://x').searchParams;
      let list = records;
      if (p.get('user')) list = list.filter((r) => r.user === p.get('user'));
      if (p.get('outcome')) list = list.filter((r) => r.outcome === p.get('outcome'));
      const off = Number(p.get('offset') ?? 0);
      const lim = Number(p.get('limit') ?? 100);
      return { body: { records: list.slice(off, off + lim), total: list.length } };
    }
    return undefined;
  });
  // The record's XML is text, not JSON.
  const jsonFetch = globalThis.fetch;
  vi.stubGlobal('fetch', vi.fn(async (url: string, init?: RequestInit) => {
    const m = /^\/api\/v1\/audit\/(\d+)$/.exec(String(url));
    if (m) {
      calls.push({ method: 'GET', url: String(url), headers: {}, body: undefined });
      return new Response(`<AuditMessage><EventIdentification EventActionCode="E"/><!-- seq ${m[1]} --></AuditMessage>`,
        { status: 200, headers: { 'Content-Type': 'application/xml' } });
    }
    return jsonFetch(url, init);
  }));
});
afterEach(() => cleanup());

const rows = () => [...document.querySelectorAll('tr[data-seq]')];

describe('audit page', () => {
  it('pages through the records, newest first', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    expect(rows()[0].textContent).toContain('retrieve');
    expect(rows()[0].textContent).toContain('PAT1');
    expect(screen.getByTestId('audit-pager').textContent).toContain('1–50 of 120');
    fireEvent.click(screen.getByRole('button', { name: 'Older →' }));
    await waitFor(() => expect(screen.getByTestId('audit-pager').textContent).toContain('51–100 of 120'));
    expect(window.location.search).toBe('?offset=50');
    expect(calls.some((c) => c.url === '/api/v1/audit?limit=50&offset=50')).toBe(true);
  });

  it('searches by the fields, through the URL', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    fireEvent.change(screen.getByTestId('audit-user'), { target: { value: 'dr.kim' } });
    fireEvent.change(screen.getByTestId('audit-outcome'), { target: { value: 'failure' } });
    fireEvent.change(screen.getByTestId('audit-since'), { target: { value: '2026-12-01' } });
    fireEvent.click(screen.getByTestId('audit-submit'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(window.location.search).toBe('?user=dr.kim&since=2026-12-01&outcome=failure');
    const url = new URL(calls.filter((c) => c.url.startsWith('/api/v1/audit?')).pop()!.url, 'http://x');
    expect(url.searchParams.get('since')).toBe(dayStartIso('2026-12-01'));
    expect(url.searchParams.get('user')).toBe('dr.kim');
    expect(url.searchParams.get('outcome')).toBe('failure');
  });

  it('opens a record\'s DICOM audit message in a drawer', async () => {
    render(<App />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    fireEvent.click(rows()[1]);
    expect((await screen.findByTestId('audit-xml')).textContent).toContain('<!-- seq 119 -->');
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByTestId('audit-drawer')).toBeNull();
  });

  it('shows the chain check, broken or not', async () => {
    render(<App />);
    expect((await screen.findByText(/chain intact · 120 records/))).toBeTruthy();
    cleanup();
    verify = { ok: false, records: 120, first_bad_seq: 17, message: 'hash mismatch' };
    render(<App />);
    expect((await screen.findByText(/chain broken at record 17: hash mismatch/))).toBeTruthy();
  });
});

describe('audit view', () => {
  it('round-trips through the URL and makes inclusive day ranges', () => {
    const v = searchToAuditView('?user=a&event=login&until=2026-12-07&outcome=success&offset=100&since=bad');
    expect(v).toMatchObject({ user: 'a', event: 'login', until: '2026-12-07', since: '', outcome: 'success', offset: 100 });
    expect(auditViewToSearch(v)).toBe('?user=a&event=login&until=2026-12-07&outcome=success&offset=100');
    const q = auditQueryOf(v);
    expect(q.until).toBe(new Date(2026, 11, 8).toISOString());
    expect(q.limit).toBe(PAGE_SIZE);
  });
});
