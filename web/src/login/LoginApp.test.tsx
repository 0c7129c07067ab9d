import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { browser } from '../auth/redirect';
import { installFetch, type Call } from '../test/fakes';
import { LoginApp } from './LoginApp';

let calls: Call[];
let oidc: boolean;
let assign: ReturnType<typeof vi.spyOn>;
const lockedUntil = '2026-12-07T02:30:00Z';

beforeEach(() => {
  oidc = false;
  assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
  calls = installFetch((c) => {
    if (c.url === '/api/v1/auth/config') {
      return { body: { local: true, oidc: { enabled: oidc, login_url: '/auth/oidc/login' }, setup_required: false } };
    }
    if (c.url === '/api/v1/auth/login') {
      const b = c.body as { username: string; password: string };
      if (b.username === 'locked') {
        return { status: 429, body: { error: `account locked until ${lockedUntil}`, code: 'locked' } };
      }
      if (b.password !== 'correct horse battery') return { status: 401, body: { error: 'invalid user name or password', code: 'unauthenticated' } };
      return { body: { user: b.username, role: 'radiologist', display_name: '' } };
    }
    if (c.url === '/api/v1/auth/setup') {
      const b = c.body as { token: string };
      if (b.token !== 'good') return { status: 403, body: { error: 'set-up token already used', code: 'permission_denied' } };
      return { status: 201, body: { user: 'boss', role: 'administrator' } };
    }
    return undefined;
  }, null);
});
afterEach(() => cleanup());

function signIn(user: string, password: string) {
  fireEvent.change(screen.getByTestId('username'), { target: { value: user } });
  fireEvent.change(screen.getByTestId('password'), { target: { value: password } });
  fireEvent.click(screen.getByTestId('sign-in'));
}

describe('sign-in page', () => {
  it('says a wrong password is wrong, and nothing else happens', async () => {
    render(<LoginApp pathname="/login" search="?next=%2Fread%2F1.2" />);
    signIn('dr.kim', 'nope');
    expect((await screen.findByTestId('login-error')).textContent).toBe('invalid user name or password');
    expect(assign).not.toHaveBeenCalled();
    expect((screen.getByTestId('password') as HTMLInputElement).value).toBe('');
  });

  it('names the lock-out time', async () => {
    render(<LoginApp pathname="/login" search="" />);
    signIn('locked', 'whatever');
    const text = (await screen.findByTestId('login-error')).textContent ?? '';
    expect(text).toMatch(/^account locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    const d = new Date(lockedUntil);
    expect(text).toContain(`${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`);
  });

  it('goes to next after signing in', async () => {
    render(<LoginApp pathname="/login" search="?next=%2Fread%2F1.2%3Fx%3D1" />);
    signIn('dr.kim', 'correct horse battery');
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/read/1.2?x=1'));
    expect(calls.find((c) => c.url === '/api/v1/auth/login')!.body).toEqual({ username: 'dr.kim', password: 'correct horse battery' });
  });

  it('never to another site', async () => {
    render(<LoginApp pathname="/login" search="?next=https%3A%2F%2Fevil.example%2F" />);
    signIn('dr.kim', 'correct horse battery');
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/'));
  });

  it('offers single sign-on when the server has a provider, keeping next', async () => {
    oidc = true;
    render(<LoginApp pathname="/login" search="?next=%2Fworklist" />);
    const sso = await screen.findByTestId('sso');
    expect(sso.textContent).toBe('Sign in with single sign-on');
    expect(sso.getAttribute('href')).toBe('/auth/oidc/login?next=%2Fworklist');
  });

  it('has no single sign-on button without a provider', async () => {
    render(<LoginApp pathname="/login" search="" />);
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/auth/config')).toBe(true));
    await screen.findByTestId('login-form');
    expect(screen.queryByTestId('sso')).toBeNull();
  });

  it('shows the error of a failed single sign-on return', () => {
    render(<LoginApp pathname="/login" search="?error=state%20mismatch" />);
    expect(screen.getByTestId('returned-error').textContent).toContain('state mismatch');
  });
});

describe('set-up page', () => {
  function fill(token: string, pw = 'a long admin passphrase', repeat = pw) {
    render(<LoginApp pathname="/setup" search={`?token=${token}`} />);
    fireEvent.change(screen.getByTestId('setup-username'), { target: { value: 'boss' } });
    fireEvent.change(screen.getByTestId('setup-display'), { target: { value: 'The Boss' } });
    fireEvent.change(screen.getByTestId('setup-password'), { target: { value: pw } });
    fireEvent.change(screen.getByTestId('setup-repeat'), { target: { value: repeat } });
    fireEvent.click(screen.getByTestId('setup-submit'));
  }

  it('creates the first administrator with the token and goes to the app', async () => {
    fill('good');
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/'));
    expect(calls.find((c) => c.url === '/api/v1/auth/setup')!.body).toEqual({
      token: 'good', username: 'boss', password: 'a long admin passphrase', display_name: 'The Boss' });
  });

  it('repeats the server\'s reason for a used token', async () => {
    fill('used');
    expect((await screen.findByTestId('setup-error')).textContent).toBe('set-up token already used');
    expect(assign).not.toHaveBeenCalled();
  });

  it('checks the passwords before asking', () => {
    fill('good', 'a long admin passphrase', 'another one entirely');
    expect(screen.getByTestId('setup-error').textContent).toContain('differ');
    cleanup();
    fill('good', 'short');
    expect(screen.getByTestId('setup-error').textContent).toContain('12 characters');
    expect(calls.some((c) => c.url === '/api/v1/auth/setup')).toBe(false);
  });

  it('says so when the link has no token', () => {
    render(<LoginApp pathname="/setup" search="" />);
    expect(screen.getByTestId('setup-error').textContent).toContain('no set-up token');
  });
});
