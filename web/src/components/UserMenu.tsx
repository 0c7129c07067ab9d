// The header's signed-in user: name, role and Sign out (POST /api/v1/auth/logout, then the
// sign-in page; the server deletes the session and clears the cookie).
import { useState } from 'react';
import type { Identity } from '../api/security';
import { security } from '../api/security';
import { ROLE_LABELS } from '../auth/access';
import { browser } from '../auth/redirect';
import { errorMessage } from '../lib/errors';

export function UserMenu({ identity }: { identity: Identity }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const signOut = async () => {
    setBusy(true);
    setError('');
    try {
      await security.logout();
      browser.assign('/login');
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };
  const name = identity.display_name && identity.display_name !== identity.user
    ? `${identity.display_name} (${identity.user})` : identity.user;
  return (
    <div className="user-menu" data-testid="user-menu">
      <span className="user-name" data-testid="user-name" title={`signed in by ${identity.method || 'session'}`}>{name}</span>
      <span className="tag user-role" data-testid="user-role">{ROLE_LABELS[identity.role] ?? identity.role}</span>
      {identity.method !== 'token' && identity.method !== 'oidc-bearer' && (
        <button type="button" onClick={signOut} disabled={busy} data-testid="sign-out">Sign out</button>
      )}
      {error && <span className="error small" role="alert">{error}</span>}
    </div>
  );
}
