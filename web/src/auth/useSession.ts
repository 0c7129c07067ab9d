// The signed-in user, asked once at start (GET /api/v1/auth/me). No session: the API client
// has already sent the page to /login (401); any other failure is shown with a retry.
import { useCallback, useEffect, useState } from 'react';
import { security, type Identity } from '../api/security';
import { ApiError, errorMessage } from '../lib/errors';
import { setReader } from '../lib/reader';

export type Session =
  | { state: 'loading' }
  | { state: 'signed-out' }
  | { state: 'error'; error: string; retry: () => void }
  | { state: 'ready'; identity: Identity };

export function useSession(): Session {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => { setSession({ state: 'loading' }); setAttempt((n) => n + 1); }, []);
  useEffect(() => {
    const ctl = new AbortController();
    security.me(ctl.signal).then((identity) => {
      if (!identity || typeof identity.user !== 'string' || !identity.user) {
        setSession({ state: 'error', error: 'The answer of GET /api/v1/auth/me names no user.', retry });
        return;
      }
      // The reader of every page is the signed-in user (before the pages render).
      setReader(identity.user);
      setSession({ state: 'ready', identity });
    }, (e) => {
      if (ctl.signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) setSession({ state: 'signed-out' });
      else setSession({ state: 'error', error: errorMessage(e), retry });
    });
    return () => ctl.abort();
  }, [attempt, retry]);
  return session;
}
