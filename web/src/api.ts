// radflow's REST API, same origin, relative URLs. The session is the HttpOnly cookie the
// browser sends with every same-origin request (credentials: 'same-origin'); the page never
// sees or stores a credential. A 401 means the session is gone: the app goes to /login.
import { redirectToLogin } from './auth/redirect';
import { apiErrorFrom } from './lib/errors';
import { getReader } from './lib/reader';
import { worklistUrl, type ListView } from './lib/query';
import type {
  ConformanceReport, Finding, Job, LesionFollowUp, PriorsAnswer, StudyDetail, TrackedLesion, WorklistItem, WorklistItemWithAudit,
  WorklistPage, ItemState,
} from './types';

export async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const reader = getReader();
  if (reader) headers['X-Radflow-Reader'] = reader;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(reader && typeof body === 'object' && body !== null && !('reader' in body)
      ? { ...body, reader } : body);
  }
  const res = await fetch(url, { method, headers, body: payload, signal, cache: 'no-store', credentials: 'same-origin' });
  const text = await res.text();
  if (res.status === 401) redirectToLogin();
  if (!res.ok) throw apiErrorFrom(res.status, text, url);
  return (text ? JSON.parse(text) : null) as T;
}

/** A GET whose answer is not JSON (the audit record's XML): the text. */
export async function requestText(url: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, { method: 'GET', headers: { Accept: '*/*' }, signal, cache: 'no-store', credentials: 'same-origin' });
  const text = await res.text();
  if (res.status === 401) redirectToLogin();
  if (!res.ok) throw apiErrorFrom(res.status, text, url);
  return text;
}

const enc = encodeURIComponent;
const item = (uid: string) => `/api/v1/worklist/${enc(uid)}`;

export const api = {
  worklist: (view: ListView, signal?: AbortSignal) => request<WorklistPage>('GET', worklistUrl(view), undefined, signal),
  item: (uid: string, signal?: AbortSignal) => request<WorklistItemWithAudit>('GET', item(uid), undefined, signal),
  claim: (uid: string) => request<WorklistItem>('POST', `${item(uid)}/claim`, {}),
  release: (uid: string) => request<WorklistItem>('POST', `${item(uid)}/release`, {}),
  heartbeat: (uid: string) => request<WorklistItem>('POST', `${item(uid)}/heartbeat`, {}),
  setState: (uid: string, state: ItemState, note = '') =>
    request<WorklistItem>('POST', `${item(uid)}/state`, note ? { state, note } : { state }),
  setPriority: (uid: string, orderPriority: string) =>
    request<WorklistItem>('POST', `${item(uid)}/priority`, { order_priority: orderPriority }),
  study: (uid: string, signal?: AbortSignal) =>
    request<StudyDetail>('GET', `/api/v1/studies/${enc(uid)}`, undefined, signal),
  findings: (uid: string, signal?: AbortSignal) =>
    request<Finding[]>('GET', `/api/v1/studies/${enc(uid)}/findings`, undefined, signal),
  priors: (uid: string, signal?: AbortSignal) =>
    request<PriorsAnswer>('GET', `/api/v1/studies/${enc(uid)}/priors`, undefined, signal),
  // Documented as a list; radflow answers {prior_study_uid, state, interval_days, lesions}.
  lesions: (uid: string, signal?: AbortSignal) =>
    request<TrackedLesion[] | LesionFollowUp>('GET', `/api/v1/studies/${enc(uid)}/lesions`, undefined, signal)
      .then((r): LesionFollowUp => (Array.isArray(r) ? { lesions: r } : { ...r, lesions: r?.lesions ?? [] })),
  conformance: (uid: string, signal?: AbortSignal) =>
    request<ConformanceReport>('GET', `/api/v1/studies/${enc(uid)}/conformance`, undefined, signal)
      .then((r): ConformanceReport => ({ ...r, instances: r?.instances ?? [] })),
  jobs: (uid: string, signal?: AbortSignal) =>
    request<Job[] | { jobs: Job[] }>('GET', `/api/v1/jobs?study=${enc(uid)}&limit=200`, undefined, signal)
      .then((r) => (Array.isArray(r) ? r : r?.jobs ?? [])),
};

export function thumbnailUrl(study: string, series: string, sop: string): string {
  return `/dicom-web/studies/${enc(study)}/series/${enc(series)}/instances/${enc(sop)}/thumbnail`;
}
