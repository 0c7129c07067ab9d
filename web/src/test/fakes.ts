// Test doubles: a scripted fetch and an EventSource the test can fire events on.
import { vi } from 'vitest';
import type { Identity } from '../api/security';
import { resetRedirect } from '../auth/redirect';
import { getReader } from '../lib/reader';
import type { WorklistItem } from '../types';

export interface Call { method: string; url: string; headers: Record<string, string>; body: unknown }
type Handler = (call: Call) => { status?: number; body: unknown } | undefined;

/**
 * The signed-in user that GET /api/v1/auth/me answers when the test's handler does not:
 * the reader the test set (setReader) as an administrator, unless `identity` says otherwise.
 */
export function fakeIdentity(over: Partial<Identity> = {}): Identity {
  return { user: getReader() || 'dr.a', role: 'administrator', display_name: '', method: 'session', referring_name: '', ...over };
}

export function installFetch(handler: Handler, identity?: Partial<Identity> | null): Call[] {
  const calls: Call[] = [];
  resetRedirect();
  const me = identity === null ? null : fakeIdentity(identity ?? {});
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const call: Call = {
      method: init.method ?? 'GET',
      url: String(url),
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    let answer = handler(call);
    if (!answer && call.url === '/api/v1/auth/me' && call.method === 'GET') {
      calls.pop();  // the fake's own answer: not one of the test's calls
      answer = me ? { body: me } : { status: 401, body: { error: 'authentication required', code: 'unauthenticated' } };
    }
    answer ??= { status: 404, body: { error: `no fake for ${call.method} ${call.url}`, code: 'not_found' } };
    const status = answer.status ?? 200;
    if (status === 204) return new Response(null, { status });
    return new Response(JSON.stringify(answer.body), { status, headers: { 'Content-Type': 'application/json' } });
  }));
  return calls;
}

export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  url: string;
  onopen: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener() {}
  close() { this.closed = true; }
  open() { this.onopen?.(new Event('open')); }
  emit(type: string, data: unknown) {
    const e = new MessageEvent(type, { data: JSON.stringify(data) });
    for (const fn of this.listeners.get(type) ?? []) fn(e);
  }
  static install() {
    FakeEventSource.instances = [];
    vi.stubGlobal('EventSource', FakeEventSource);
  }
}

let n = 0;
export function item(over: Partial<WorklistItem> = {}): WorklistItem {
  n += 1;
  return {
    study_uid: `1.2.${n}`, accession_number: `ACC${n}`, study_date: '20240110', study_time: '101500',
    study_description: 'CT HEAD', patient_id: `P${n}`, issuer_of_patient_id: '', patient_name: `Doe^Pat${n}`,
    birth_date: '19700101', sex: 'F', modalities: 'CT', body_part: 'HEAD', site: 'General',
    referring_physician: '', order_priority: '', state: 'unread', reader: '', claimed_at: 0,
    claim_expires_at: 0, arrived_at: Date.now() - 12 * 60_000, completed_at: Date.now(), reported_at: 0,
    read_started_at: 0, waiting_ms: 12 * 60_000, tat_ms: 0, ai_flag: 'none', ai_pending: 0,
    priority_score: 0, priority_reasons: [], num_series: 1, num_instances: 10,
    ...over,
  };
}
