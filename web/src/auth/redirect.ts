// Where the app sends a caller without a session: /login?next=<the current path>. `next` is
// honoured only as a same-site relative path (no scheme, no host, no "//" or "/\" that a
// browser would read as another host), so that a link cannot send a user elsewhere after
// signing in (an open redirect).

/** `next` when it is a same-site relative path ("/read/1.2?x=1"), else "/". */
export function safeNext(next: string | null | undefined): string {
  if (!next || next[0] !== '/' || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f\\]/.test(next)) return '/';
  try {
    const base = 'http://radflow.invalid';
    const url = new URL(next, base);
    if (url.origin !== base) return '/';
    const path = url.pathname + url.search + url.hash;
    // The sign-in pages themselves are no place to return to.
    if (/^\/(login|setup)(\/|\?|#|$)/.test(path)) return '/';
    return path;
  } catch {
    return '/';
  }
}

/** "/login?next=%2Fread%2F1.2" (no next for "/"). */
export function loginUrl(next: string): string {
  const n = safeNext(next);
  return n === '/' ? '/login' : `/login?next=${encodeURIComponent(n)}`;
}

/** Page navigation, replaceable by tests (jsdom does not navigate). */
export const browser = {
  assign(url: string): void { window.location.assign(url); },
};

let redirecting = false;

/** Leaves the app for the sign-in page once (many calls may fail with 401 at the same time). */
export function redirectToLogin(): void {
  if (redirecting) return;
  redirecting = true;
  const { pathname, search, hash } = window.location;
  browser.assign(loginUrl(pathname + search + hash));
}

/** For tests: allow the next redirect. */
export function resetRedirect(): void {
  redirecting = false;
}
