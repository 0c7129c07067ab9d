import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import type { ApiToken, User } from '../api/security';
import { setReader } from '../lib/reader';
import { FakeEventSource, installFetch, type Call } from '../test/fakes';
import { newUserProblem } from './UsersPage';

let users: User[];
let tokens: ApiToken[];
let calls: Call[];
const later = new Date(Date.now() + 10 * 60_000).toISOString();

function user(over: Partial<User>): User {
  return { name: 'x', role: 'radiologist', display_name: '', referring_name: '', disabled: false, locked_until: null,
           created_at: '2026-12-01T10:00:00Z', last_login: null, ...over };
}

beforeEach(() => {
  window.history.replaceState(null, '', '/users');
  setReader('admin');
  FakeEventSource.install();
  users = [user({ name: 'admin', role: 'administrator' }), user({ name: 'dr.kim', display_name: 'Dr Kim', locked_until: later })];
  tokens = [{ id: 3, user: 'dr.kim', label: 'worker', created_at: 1, expires_at: '2027-01-01T00:00:00Z', last_used: null, revoked: false }];
  calls = installFetch((c) => {
    if (c.url === '/api/v1/users' && c.method === 'GET') return { body: { users } };
    if (c.url === '/api/v1/users' && c.method === 'POST') {
      const b = c.body as User & { password: string };
      if (b.password.length < 12) return { status: 400, body: { error: 'password: at least 12 characters' } };
      users.push(user({ name: b.name, role: b.role, display_name: b.display_name ?? '', referring_name: b.referring_name ?? '' }));
      return { status: 201, body: users[users.length - 1] };
    }
    const u = /^\/api\/v1\/users\/([^/]+)(\/unlock)?$/.exec(c.url);
    if (u && c.method === 'POST') {
      const target = users.find((x) => x.name === decodeURIComponent(u[1]))!;
      if (u[2]) target.locked_until = null;
      else Object.assign(target, c.body);
      return { body: target };
    }
    if (c.url === '/api/v1/tokens' && c.method === 'GET') return { body: { tokens } };
    if (c.url === '/api/v1/tokens' && c.method === 'POST') {
      const b = c.body as { user: string; label?: string };
      tokens.push({ id: 4, user: b.user, label: b.label ?? '', created_at: Date.now(), expires_at: '2027-03-01T00:00:00Z', last_used: null, revoked: false });
      return { status: 201, body: { id: 4, token: 'rf_secret_shown_once', expires_at: '2027-03-01T00:00:00Z' } };
    }
    const t = /^\/api\/v1\/tokens\/(\d+)$/.exec(c.url);
    if (t && c.method === 'DELETE') { tokens.find((x) => String(x.id) === t[1])!.revoked = true; return { status: 204, body: null }; }
    return undefined;
  });
});
afterEach(() => cleanup());

const row = (name: string) => document.querySelector(`tr[data-user="${name}"]`) as HTMLElement;

describe('users page', () => {
  it('lists the accounts with role, state and lock-out', async () => {
    render(<App />);
    await waitFor(() => expect(row('dr.kim')).not.toBeNull());
    expect(within(row('dr.kim')).getByTestId('state-dr.kim').textContent).toContain('locked until');
    expect((screen.getByTestId('role-admin') as HTMLSelectElement).value).toBe('administrator');
    expect(screen.getByTestId('unlock-dr.kim')).toBeTruthy();
    expect(screen.queryByTestId('unlock-admin')).toBeNull();
  });

  it('creates a user, refusing a short password before asking the server', async () => {
    render(<App />);
    await waitFor(() => expect(row('admin')).not.toBeNull());
    fireEvent.change(screen.getByTestId('new-name'), { target: { value: 'dr.new' } });
    fireEvent.change(screen.getByTestId('new-role'), { target: { value: 'referring' } });
    fireEvent.change(screen.getByTestId('new-password'), { target: { value: 'short' } });
    fireEvent.click(screen.getByTestId('create-user-submit'));
    expect(screen.getByTestId('create-user-error').textContent).toContain('12 characters');
    fireEvent.change(screen.getByTestId('new-password'), { target: { value: 'a long passphrase' } });
    fireEvent.click(screen.getByTestId('create-user-submit'));
    expect(screen.getByTestId('create-user-error').textContent).toContain('ReferringPhysicianName');
    fireEvent.change(screen.getByTestId('new-referring'), { target: { value: 'New^Doc' } });
    fireEvent.change(screen.getByTestId('new-display'), { target: { value: 'Dr New' } });
    fireEvent.click(screen.getByTestId('create-user-submit'));
    await waitFor(() => expect(row('dr.new')).not.toBeNull());
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/users')!;
    expect(post.body).toMatchObject({ name: 'dr.new', role: 'referring', password: 'a long passphrase', display_name: 'Dr New', referring_name: 'New^Doc' });
    expect(screen.getByTestId('message').textContent).toContain('Created dr.new (referring)');
    expect(calls.filter((c) => c.method === 'POST' && c.url === '/api/v1/users')).toHaveLength(1);
  });

  it('changes a role, disables and unlocks', async () => {
    render(<App />);
    await waitFor(() => expect(row('dr.kim')).not.toBeNull());
    fireEvent.change(screen.getByTestId('role-dr.kim'), { target: { value: 'technologist' } });
    await waitFor(() => expect((screen.getByTestId('role-dr.kim') as HTMLSelectElement).value).toBe('technologist'));
    fireEvent.click(screen.getByTestId('disable-dr.kim'));
    await waitFor(() => expect(screen.getByTestId('state-dr.kim').textContent).toContain('disabled'));
    fireEvent.click(screen.getByTestId('unlock-dr.kim'));
    await waitFor(() => expect(screen.queryByTestId('unlock-dr.kim')).toBeNull());
    const posts = calls.filter((c) => c.method === 'POST' && c.url.startsWith('/api/v1/users/dr.kim'));
    expect(posts.map((c) => [c.url, c.body])).toEqual([
      ['/api/v1/users/dr.kim', expect.objectContaining({ role: 'technologist' })],
      ['/api/v1/users/dr.kim', expect.objectContaining({ disabled: true })],
      ['/api/v1/users/dr.kim/unlock', expect.anything()],
    ]);
    expect(screen.getByTestId('enable-dr.kim')).toBeTruthy();
  });

  it('creates a token shown once, and revokes one', async () => {
    render(<App />);
    await waitFor(() => expect(document.querySelector('tr[data-token="3"]')).not.toBeNull());
    fireEvent.change(screen.getByTestId('token-user'), { target: { value: 'dr.kim' } });
    fireEvent.change(screen.getByTestId('token-label'), { target: { value: 'pacs bridge' } });
    fireEvent.change(screen.getByTestId('token-days'), { target: { value: '30' } });
    fireEvent.click(screen.getByTestId('create-token-submit'));
    expect((await screen.findByTestId('token-secret')).textContent).toBe('rf_secret_shown_once');
    expect(calls.find((c) => c.method === 'POST' && c.url === '/api/v1/tokens')!.body).toMatchObject({ user: 'dr.kim', days: 30, label: 'pacs bridge' });
    await waitFor(() => expect(document.querySelector('tr[data-token="4"]')).not.toBeNull());
    // the list never carries the secret
    expect(screen.getByTestId('tokens').textContent).not.toContain('rf_secret_shown_once');
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByTestId('token-secret')).toBeNull();
    expect(document.body.textContent).not.toContain('rf_secret_shown_once');
    fireEvent.click(screen.getByTestId('revoke-3'));
    await waitFor(() => expect(document.querySelector('tr[data-token="3"]')!.textContent).toContain('revoked'));
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/v1/tokens/3')).toBe(true);
  });

  it('checks a new account', () => {
    const ok = { name: 'a.b', role: 'researcher', password: '123456789012', referring_name: '' };
    expect(newUserProblem(ok)).toBe('');
    expect(newUserProblem({ ...ok, name: 'a b' })).toContain('letters');
    expect(newUserProblem({ ...ok, role: 'root' })).toContain('role');
    expect(newUserProblem({ ...ok, password: '12345678901' })).toContain('12');
  });
});
