// The sign-in page's own calls (it is public and must not use the app's client, whose 401
// handling would send it back to itself): GET /api/v1/auth/config, POST /api/v1/auth/login,
// POST /api/v1/auth/setup. The session comes back as an HttpOnly cookie; nothing is kept here.
import { apiErrorFrom } from '../lib/errors';

export interface AuthConfig {
  local: boolean;
  oidc: { enabled: boolean; login_url: string };
  setup_required: boolean;
}

export interface SignedIn { user: string; role: string; display_name?: string }

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  if (!res.ok) throw apiErrorFrom(res.status, text, url);
  return (text ? JSON.parse(text) : null) as T;
}

export const DEFAULT_CONFIG: AuthConfig = { local: true, oidc: { enabled: false, login_url: '/auth/oidc/login' }, setup_required: false };

export const auth = {
  config: () => call<AuthConfig>('GET', '/api/v1/auth/config').then((c): AuthConfig => ({
    local: c?.local !== false,
    oidc: { enabled: !!c?.oidc?.enabled, login_url: c?.oidc?.login_url || '/auth/oidc/login' },
    setup_required: !!c?.setup_required,
  })),
  login: (username: string, password: string) => call<SignedIn>('POST', '/api/v1/auth/login', { username, password }),
  setup: (body: { token: string; username: string; password: string; display_name?: string }) =>
    call<SignedIn>('POST', '/api/v1/auth/setup', body),
};
