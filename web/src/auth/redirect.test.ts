import { afterEach, describe, expect, it, vi } from 'vitest';
import { request } from '../api';
import { installFetch } from '../test/fakes';
import { browser, loginUrl, redirectToLogin, resetRedirect, safeNext } from './redirect';

afterEach(() => resetRedirect());

describe('safeNext', () => {
  it('keeps a same-site path with its query and fragment', () => {
    expect(safeNext('/read/1.2.840.5?x=1#f')).toBe('/read/1.2.840.5?x=1#f');
    expect(safeNext('/research')).toBe('/research');
  });
  it('refuses everything that could leave the site or loop', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'read/1',
      '', null, undefined, '/login', '/login?next=/x', '/setup?token=a', '/\tx', '/\r\nx']) {
      expect(safeNext(bad as string)).toBe('/');
    }
  });
  it('leaves percent-encoded text encoded (a path, never a header)', () => {
    expect(safeNext('/%0d%0aSet-Cookie:x')).toBe('/%0d%0aSet-Cookie:x');
  });
});

describe('loginUrl', () => {
  it('carries the page to return to', () => {
    expect(loginUrl('/read/1.2?y=2')).toBe('/login?next=%2Fread%2F1.2%3Fy%3D2');
    expect(loginUrl('/')).toBe('/login');
    expect(loginUrl('//evil.example')).toBe('/login');
  });
});

describe('a 401 from the API', () => {
  it('sends the page to /login?next=<the current path> once, and still fails the call', async () => {
    window.history.replaceState(null, '', '/read/1.2.3?n=1');
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    installFetch(() => ({ status: 401, body: { error: 'session expired', code: 'unauthenticated' } }));
    await expect(request('GET', '/api/v1/worklist')).rejects.toMatchObject({ status: 401, message: 'session expired' });
    await expect(request('GET', '/api/v1/studies/1')).rejects.toMatchObject({ status: 401 });
    expect(assign).toHaveBeenCalledTimes(1);
    expect(assign).toHaveBeenCalledWith('/login?next=%2Fread%2F1.2.3%3Fn%3D1');
  });
  it('a 403 is an error of its own, not a sign-in', async () => {
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    installFetch(() => ({ status: 403, body: { error: 'role researcher may not GET /api/v1/worklist', code: 'permission_denied' } }));
    await expect(request('GET', '/api/v1/worklist')).rejects.toMatchObject({ status: 403 });
    expect(assign).not.toHaveBeenCalled();
  });
  it('the redirect happens once however many calls fail', () => {
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    redirectToLogin();
    redirectToLogin();
    expect(assign).toHaveBeenCalledTimes(1);
  });
});

describe('credentials', () => {
  it('every call sends the same-origin session cookie and nothing is kept in storage', async () => {
    const fetchSpy = vi.fn(async () => new Response('{}', { status: 200 }));
    vi.stubGlobal('fetch', fetchSpy);
    localStorage.clear();
    await request('GET', '/api/v1/auth/me');
    const init = (fetchSpy.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.credentials).toBe('same-origin');
    expect(JSON.stringify(init.headers)).not.toMatch(/authorization/i);
    expect(localStorage.length).toBe(0);
  });
});
