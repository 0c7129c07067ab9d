// The public sign-in pages, served by radflow at /login and /setup (web/login.html):
//  /login?next=/path[&error=text]  user name and password (POST /api/v1/auth/login), or
//                                  single sign-on when the server has an OpenID provider;
//                                  then `next` (a same-site path only).
//  /setup?token=…                  the first administrator, with the one-time token that
//                                  `radflow serve` prints when no account exists.
import { useEffect, useState, type FormEvent } from 'react';
import { browser, safeNext } from '../auth/redirect';
import { ApiError } from '../lib/errors';
import { formatWhen } from '../lib/when';
import { auth, DEFAULT_CONFIG, type AuthConfig } from './client';

export const MIN_PASSWORD = 12;

/** What the user is told about a failed sign-in. */
export function loginErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429 || e.code === 'locked') {
      // "account locked until 2026-12-07T02:30:00Z": the time in the reader's clock.
      const m = /until\s+(\S+)/.exec(e.message);
      const when = m ? formatWhen(m[1]) : '';
      return when && when !== '—' ? `account locked until ${when}` : e.message;
    }
    if (e.status === 401) return e.message || 'invalid user name or password';
    return e.message || `sign-in failed (HTTP ${e.status})`;
  }
  return `cannot reach radflow: ${e instanceof Error ? e.message : String(e)}`;
}

function useConfig() {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    auth.config().then(setConfig, (e) => { setConfig(DEFAULT_CONFIG); setError(loginErrorText(e)); });
  }, []);
  return { config, error };
}

export function LoginForm({ search }: { search: string }) {
  const params = new URLSearchParams(search);
  const next = safeNext(params.get('next'));
  const returned = params.get('error') ?? '';
  const { config, error: configError } = useConfig();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) { setError('Enter your user name and password.'); return; }
    setBusy(true);
    setError('');
    try {
      await auth.login(username.trim(), password);
      browser.assign(next);
    } catch (err) {
      setError(loginErrorText(err));
      setPassword('');
      setBusy(false);
    }
  };
  const oidcHref = config ? `${config.oidc.login_url}?next=${encodeURIComponent(next)}` : '';
  return (
    <div className="login-card">
      <h1>radflow</h1>
      {returned && <p className="message message-error" role="alert" data-testid="returned-error">Single sign-on failed: {returned}</p>}
      {config?.setup_required && (
        <p className="message message-info" data-testid="setup-hint">
          No account exists yet. Open the set-up link that <code>radflow serve</code> printed at start (on this computer).
        </p>
      )}
      {config?.oidc.enabled && (
        <a className="button primary sso" href={oidcHref} data-testid="sso">Sign in with single sign-on</a>
      )}
      {(config === null || config.local) && (
        <form onSubmit={submit} className="login-form" data-testid="login-form">
          {config?.oidc.enabled && <p className="muted or">or with a local account</p>}
          <label>User name
            <input name="username" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} data-testid="username" />
          </label>
          <label>Password
            <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="password" />
          </label>
          <button type="submit" className="primary" disabled={busy} data-testid="sign-in">{busy ? 'Signing in…' : 'Sign in'}</button>
          {error && <p className="error" role="alert" data-testid="login-error">{error}</p>}
        </form>
      )}
      {configError && <p className="muted small">{configError}</p>}
    </div>
  );
}

export function setupProblem(f: { username: string; password: string; repeat: string }): string {
  if (!f.username.trim()) return 'Choose a user name.';
  if (!/^[A-Za-z0-9._@-]+$/.test(f.username.trim())) return 'A user name has letters, digits and . _ @ - only.';
  if (f.password.length < MIN_PASSWORD) return `The password needs at least ${MIN_PASSWORD} characters.`;
  if (f.password !== f.repeat) return 'The two passwords differ.';
  return '';
}

export function SetupForm({ search }: { search: string }) {
  const token = new URLSearchParams(search).get('token') ?? '';
  const [f, setF] = useState({ username: '', display_name: '', password: '', repeat: '' });
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = setupProblem(f);
    if (problem) { setError(problem); return; }
    setBusy(true);
    setError('');
    try {
      await auth.setup({ token, username: f.username.trim(), password: f.password, ...(f.display_name.trim() ? { display_name: f.display_name.trim() } : {}) });
      browser.assign('/');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : loginErrorText(err));
      setBusy(false);
    }
  };
  if (!token) {
    return (
      <div className="login-card">
        <h1>radflow set-up</h1>
        <p className="error" role="alert" data-testid="setup-error">This link has no set-up token. Open the link that <code>radflow serve</code> printed.</p>
      </div>
    );
  }
  return (
    <div className="login-card">
      <h1>radflow set-up</h1>
      <p className="muted">Create the first administrator. The link works once, for a short time, from this computer only.</p>
      <form onSubmit={submit} className="login-form" data-testid="setup-form">
        <label>User name <input autoComplete="username" autoFocus value={f.username} onChange={set('username')} data-testid="setup-username" /></label>
        <label>Display name <input value={f.display_name} onChange={set('display_name')} data-testid="setup-display" /></label>
        <label>Password <input type="password" autoComplete="new-password" value={f.password} onChange={set('password')} data-testid="setup-password" /></label>
        <label>Repeat password <input type="password" autoComplete="new-password" value={f.repeat} onChange={set('repeat')} data-testid="setup-repeat" /></label>
        <button type="submit" className="primary" disabled={busy} data-testid="setup-submit">Create administrator</button>
        {error && <p className="error" role="alert" data-testid="setup-error">{error}</p>}
      </form>
    </div>
  );
}

export function LoginApp({ pathname, search }: { pathname: string; search: string }) {
  const setup = /^\/setup\/?$/.test(pathname);
  return <div className="login-page">{setup ? <SetupForm search={search} /> : <LoginForm search={search} />}</div>;
}
