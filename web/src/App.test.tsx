import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App';
import { browser } from './auth/redirect';
import { getReader, setReader } from './lib/reader';
import { FakeEventSource, installFetch, type Call } from './test/fakes';

let calls: Call[];
const navLabels = () => [...screen.getByTestId('nav').querySelectorAll('a')].map((a) => a.textContent);

function start(path: string, identity: Parameters<typeof installFetch>[1]) {
  window.history.replaceState(null, '', path);
  calls = installFetch((c) => {
    if (c.url.startsWith('/api/v1/worklist?')) return { body: { total: 0, items: [], now: Date.now() } };
    if (c.url === '/api/v1/research/cohorts') return { body: { cohorts: [] } };
    if (c.url === '/api/v1/research/exports') return { body: { exports: [] } };
    if (c.url === '/api/v1/research/cohorts/preview') return { body: { patients: 0, studies: 0, series: 0, instances: 0, lesions: 0 } };
    if (c.url.startsWith('/dicom-web/studies')) return { body: [] };
    if (c.url === '/api/v1/auth/logout') return { status: 204, body: null };
    if (c.url === '/api/v1/apps') return { body: { apps: [{ id: 'a1', name: 'App one', version: '1', vendor: '', intended_use: '', enabled: true, runner: 'process', rules: [], outputs: [], timeout_s: 1, max_attempts: 1, priority: 0 }] } };
    if (c.url === '/api/v1/apps/a1') return { body: { id: 'a1', name: 'App one', version: '1', enabled: true, rules: [], outputs: [] } };
    return undefined;
  }, identity);
  render(<App />);
}

beforeEach(() => {
  localStorage.clear();
  setReader('');
  FakeEventSource.install();
});
afterEach(() => cleanup());

describe('the app and the session', () => {
  it('asks who is signed in first and makes them the reader', async () => {
    start('/worklist', { user: 'dr.kim', role: 'radiologist', display_name: 'Dr Kim' });
    expect((await screen.findByTestId('user-name')).textContent).toBe('Dr Kim (dr.kim)');
    expect(screen.getByTestId('user-role').textContent).toBe('radiologist');
    expect(getReader()).toBe('dr.kim');
    expect(navLabels()).toEqual(['Worklist', 'Follow-ups', 'AI performance', 'Apps', 'OHIF study list']);
  });

  it('no session: goes to /login with the page to come back to', async () => {
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    start('/read/1.2.3', null);
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/login?next=%2Fread%2F1.2.3'));
    expect(screen.getByTestId('boot').textContent).toContain('sign-in');
    expect(calls.filter((c) => c.url.startsWith('/api/v1/worklist'))).toHaveLength(0);
  });

  it('an administrator also has Research, Users and Audit', async () => {
    start('/worklist', { user: 'admin', role: 'administrator' });
    await screen.findByTestId('user-name');
    expect(navLabels()).toEqual(['Worklist', 'Exams', 'Scheduling', 'Follow-ups', 'AI performance', 'Apps', 'Research', 'Users', 'Audit', 'OHIF study list']);
  });

  it('a researcher sees only Research, and "/" leads there', async () => {
    start('/', { user: 'res', role: 'researcher' });
    await screen.findByTestId('user-name');
    expect(navLabels()).toEqual(['Research']);
    await waitFor(() => expect(window.location.pathname).toBe('/research'));
    expect(await screen.findByTestId('cohort-builder')).toBeTruthy();
    expect(calls.some((c) => c.url.startsWith('/api/v1/worklist'))).toBe(false);
  });

  it('a researcher opening a clinical page is told it is not for the role, and nothing is asked', async () => {
    start('/read/1.2.3', { user: 'res', role: 'researcher' });
    expect((await screen.findByTestId('forbidden')).textContent).toContain('researcher');
    expect(calls.some((c) => c.url.includes('1.2.3'))).toBe(false);
  });

  it('a referring physician has the studies of their orders only', async () => {
    start('/', { user: 'dr.ref', role: 'referring', referring_name: 'Ref^Doc' });
    await screen.findByTestId('user-name');
    expect(navLabels()).toEqual(['Studies', 'OHIF study list']);
    await waitFor(() => expect(window.location.pathname).toBe('/orders'));
    await screen.findByTestId('orders');
    expect(calls.some((c) => c.url.startsWith('/dicom-web/studies'))).toBe(true);
  });

  it('hides the administrator\'s app actions from a radiologist, shows them to an administrator', async () => {
    start('/apps', { user: 'dr.kim', role: 'radiologist' });
    await screen.findByTestId('app-a1');
    expect(screen.queryByRole('button', { name: 'Disable' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Pin' })).toBeNull();
    cleanup();
    start('/apps', { user: 'admin', role: 'administrator' });
    await screen.findByTestId('app-a1');
    expect(screen.getByRole('button', { name: 'Disable' })).toBeTruthy();
  });

  it('a technologist has the worklist without reading actions', async () => {
    start('/worklist', { user: 'tech', role: 'technologist' });
    await screen.findByTestId('user-name');
    expect(navLabels()).toEqual(['Worklist', 'Exams', 'Scheduling', 'Follow-ups', 'Apps', 'OHIF study list']);
    await screen.findByTestId('action-study');
    expect(screen.queryByTestId('action-claim')).toBeNull();
    expect(screen.queryByTestId('action-read')).toBeNull();
    cleanup();
    start('/worklist', { user: 'dr.kim', role: 'radiologist' });
    expect(await screen.findByTestId('action-claim')).toBeTruthy();
  });

  it('Sign out deletes the session on the server and goes to /login', async () => {
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    start('/worklist', { user: 'dr.kim', role: 'radiologist' });
    fireEvent.click(await screen.findByTestId('sign-out'));
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/login'));
    expect(calls.some((c) => c.method === 'POST' && c.url === '/api/v1/auth/logout')).toBe(true);
  });

  it('an answer of /auth/me without a user is an error with a retry, not a blank page', async () => {
    window.history.replaceState(null, '', '/worklist');
    installFetch((c) => (c.url === '/api/v1/auth/me' ? { body: {} } : undefined));
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toContain('names no user');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });
});
