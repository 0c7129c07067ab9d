// Users and API tokens (administrator): the accounts with role, names, state and last
// sign-in; create one; change its role, disable or enable it, unlock it after a lock-out;
// the API tokens of everyone, revoke one, create one for a user — its secret is shown once,
// here, and never again (the server keeps only its hash).
import { useState, type FormEvent } from 'react';
import { ROLES, security, type ApiToken, type CreatedToken, type User } from '../api/security';
import { useResource } from '../hooks/useResource';
import { errorMessage } from '../lib/errors';
import { formatWhen, isFuture } from '../lib/when';

export const MIN_PASSWORD = 12;

/** Why a new account cannot be sent yet, or "". */
export function newUserProblem(u: { name: string; role: string; password: string; referring_name: string }): string {
  if (!u.name.trim()) return 'Give a user name.';
  if (!/^[A-Za-z0-9._@-]+$/.test(u.name.trim())) return 'A user name has letters, digits and . _ @ - only.';
  if (!ROLES.includes(u.role as (typeof ROLES)[number])) return 'Choose a role.';
  if (u.password.length < MIN_PASSWORD) return `The password needs at least ${MIN_PASSWORD} characters.`;
  if (u.role === 'referring' && !u.referring_name.trim()) {
    return 'A referring physician needs the name their orders carry (ReferringPhysicianName).';
  }
  return '';
}

function CreateUser({ onCreated }: { onCreated: (msg: string) => void }) {
  const empty = { name: '', display_name: '', role: 'radiologist', referring_name: '', password: '' };
  const [u, setU] = useState(empty);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof empty) => (e: { target: { value: string } }) => setU({ ...u, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = newUserProblem(u);
    if (problem) { setError(problem); return; }
    setBusy(true);
    setError('');
    try {
      await security.createUser({
        name: u.name.trim(), role: u.role, password: u.password,
        ...(u.display_name.trim() ? { display_name: u.display_name.trim() } : {}),
        ...(u.referring_name.trim() ? { referring_name: u.referring_name.trim() } : {}),
      });
      onCreated(`Created ${u.name.trim()} (${u.role}).`);
      setU(empty);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel form-grid" onSubmit={submit} data-testid="create-user">
      <h3>New user</h3>
      <label>User name <input value={u.name} onChange={set('name')} autoComplete="off" data-testid="new-name" /></label>
      <label>Display name <input value={u.display_name} onChange={set('display_name')} data-testid="new-display" /></label>
      <label>Role
        <select value={u.role} onChange={set('role')} data-testid="new-role">
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </label>
      <label>Referring name <input value={u.referring_name} onChange={set('referring_name')} placeholder="Doe^Jane (referring only)" data-testid="new-referring" /></label>
      <label>Password <input type="password" value={u.password} onChange={set('password')} autoComplete="new-password" data-testid="new-password" /></label>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy} data-testid="create-user-submit">Create user</button>
        {error && <span className="error" role="alert" data-testid="create-user-error">{error}</span>}
      </div>
    </form>
  );
}

function UserRow({ user, onChanged }: { user: User; onChanged: (msg: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const locked = isFuture(user.locked_until);
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await fn();
      onChanged(`${user.name}: ${what}.`);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-user={user.name}>
      <td className="c-user">{user.name}</td>
      <td>{user.display_name}</td>
      <td>
        <select value={user.role} disabled={busy} aria-label={`role of ${user.name}`} data-testid={`role-${user.name}`}
          onChange={(e) => { const role = e.target.value; void act(`role ${role}`, () => security.changeUser(user.name, { role })); }}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          {!ROLES.includes(user.role as (typeof ROLES)[number]) && <option value={user.role}>{user.role}</option>}
        </select>
      </td>
      <td>{user.referring_name}</td>
      <td data-testid={`state-${user.name}`}>
        {user.disabled ? <span className="tag app-disabled">disabled</span> : <span className="tag app-enabled">active</span>}
        {locked && <span className="tag app-disabled">locked until {formatWhen(user.locked_until)}</span>}
      </td>
      <td className="c-date">{formatWhen(user.created_at)}</td>
      <td className="c-date">{formatWhen(user.last_login)}</td>
      <td className="row-actions">
        {user.disabled
          ? <button type="button" disabled={busy} onClick={() => act('enabled', () => security.changeUser(user.name, { disabled: false }))} data-testid={`enable-${user.name}`}>Enable</button>
          : <button type="button" disabled={busy} onClick={() => act('disabled', () => security.changeUser(user.name, { disabled: true }))} data-testid={`disable-${user.name}`}>Disable</button>}
        {locked && <button type="button" disabled={busy} onClick={() => act('unlocked', () => security.unlockUser(user.name))} data-testid={`unlock-${user.name}`}>Unlock</button>}
        {error && <span className="error small" role="alert">{error}</span>}
      </td>
    </tr>
  );
}

function CreateToken({ users, onCreated }: { users: User[]; onCreated: (t: CreatedToken, user: string) => void }) {
  const [user, setUser] = useState('');
  const [label, setLabel] = useState('');
  const [days, setDays] = useState('90');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const d = Number(days);
    if (!user) { setError('Choose the user the token acts as.'); return; }
    if (!Number.isInteger(d) || d < 1) { setError('Days: a whole number, at least 1.'); return; }
    setBusy(true);
    setError('');
    try {
      const t = await security.createToken({ user, days: d, ...(label.trim() ? { label: label.trim() } : {}) });
      onCreated(t, user);
      setLabel('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} data-testid="create-token">
      <select value={user} onChange={(e) => setUser(e.target.value)} aria-label="token user" data-testid="token-user">
        <option value="">user…</option>
        {users.filter((u) => !u.disabled).map((u) => <option key={u.name} value={u.name}>{u.name} ({u.role})</option>)}
      </select>
      <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="label (what uses it)" aria-label="token label" data-testid="token-label" />
      <label>days <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} className="w-num" data-testid="token-days" /></label>
      <button type="submit" disabled={busy} data-testid="create-token-submit">Create token</button>
      {error && <span className="error" role="alert">{error}</span>}
    </form>
  );
}

export function UsersPage() {
  const users = useResource(() => security.users(), []);
  const tokens = useResource(() => security.tokens(), []);
  const [message, setMessage] = useState('');
  const [created, setCreated] = useState<{ token: CreatedToken; user: string } | null>(null);
  const [tokenError, setTokenError] = useState('');
  const changed = (msg: string) => { setMessage(msg); void users.reload(); };
  const revoke = async (t: ApiToken) => {
    setTokenError('');
    try {
      await security.revokeToken(t.id);
      setMessage(`Revoked token ${t.label || t.id} of ${t.user}.`);
      void tokens.reload();
    } catch (e) {
      setTokenError(errorMessage(e));
    }
  };
  return (
    <div className="admin-page users-page">
      <div className="admin-head"><h2>Users</h2>{message && <span className="message message-info" data-testid="message">{message}</span>}</div>
      {users.error && <p className="error" role="alert">{users.error}</p>}
      <table className="grid" data-testid="users">
        <thead><tr><th>User</th><th>Display name</th><th>Role</th><th>Referring name</th><th>State</th><th>Created</th><th>Last sign-in</th><th /></tr></thead>
        <tbody>
          {(users.data ?? []).map((u) => <UserRow key={u.name} user={u} onChanged={changed} />)}
          {users.data && users.data.length === 0 && <tr><td colSpan={8} className="muted">No users.</td></tr>}
        </tbody>
      </table>
      <CreateUser onCreated={changed} />

      <div className="admin-head"><h2>API tokens</h2></div>
      <p className="muted small">For scripts, DICOMweb clients and AI workers: <code>Authorization: Bearer rf_…</code>. The secret is shown once, when it is made.</p>
      <CreateToken users={users.data ?? []} onCreated={(token, user) => { setCreated({ token, user }); void tokens.reload(); }} />
      {created && (
        <div className="panel token-once" data-testid="token-once">
          <p>Token for <b>{created.user}</b> (expires {formatWhen(created.token.expires_at)}). Copy it now: it is not shown again.</p>
          <code className="token-secret" data-testid="token-secret">{created.token.token}</code>
          <button type="button" onClick={() => { void navigator.clipboard?.writeText(created.token.token).catch(() => {}); }}>Copy</button>
          <button type="button" className="link" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      {(tokens.error || tokenError) && <p className="error" role="alert">{tokens.error || tokenError}</p>}
      <table className="grid" data-testid="tokens">
        <thead><tr><th>Id</th><th>User</th><th>Label</th><th>Created</th><th>Expires</th><th>Last used</th><th>State</th><th /></tr></thead>
        <tbody>
          {(tokens.data ?? []).map((t) => (
            <tr key={String(t.id)} data-token={String(t.id)}>
              <td className="mono">{String(t.id)}</td>
              <td>{t.user}</td>
              <td>{t.label}</td>
              <td className="c-date">{formatWhen(t.created_at)}</td>
              <td className="c-date">{formatWhen(t.expires_at)}</td>
              <td className="c-date">{formatWhen(t.last_used)}</td>
              <td>{t.revoked ? <span className="tag app-disabled">revoked</span> : <span className="tag app-enabled">valid</span>}</td>
              <td>{!t.revoked && <button type="button" onClick={() => revoke(t)} data-testid={`revoke-${t.id}`}>Revoke</button>}</td>
            </tr>
          ))}
          {tokens.data && tokens.data.length === 0 && <tr><td colSpan={8} className="muted">No tokens.</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
