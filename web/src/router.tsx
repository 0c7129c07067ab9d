// A tiny history router: a handful of pages, no reloads.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export type Route =
  | { page: 'worklist' }
  | { page: 'study'; uid: string }
  | { page: 'read'; uid: string }
  | { page: 'followups' }
  | { page: 'performance' }
  | { page: 'apps'; id?: string }
  | { page: 'research' }
  | { page: 'users' }
  | { page: 'audit' }
  | { page: 'studies' }
  | { page: 'exams' }
  | { page: 'scheduling' }
  | { page: 'notFound'; path: string };

/**
 * The page of a path: "/" and "/worklist", "/study/UID", "/read/UID", "/followups",
 * "/performance", "/apps" and "/apps/ID" (that app's card opened), "/research", "/users",
 * "/audit" and "/orders" (a referring physician's studies).
 */
export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/worklist' || path === '/index.html') return { page: 'worklist' };
  if (path === '/followups') return { page: 'followups' };
  if (path === '/performance') return { page: 'performance' };
  if (path === '/apps') return { page: 'apps' };
  if (path === '/research') return { page: 'research' };
  if (path === '/users') return { page: 'users' };
  if (path === '/audit') return { page: 'audit' };
  if (path === '/orders') return { page: 'studies' };
  if (path === '/exams') return { page: 'exams' };  // the technologist's exams of the day (issue 14)
  if (path === '/scheduling') return { page: 'scheduling' };  // a manager's week of the scanners (issue 14)
  const app = /^\/apps\/([^/]+)$/.exec(path);
  if (app) {
    let id = app[1];
    try { id = decodeURIComponent(id); } catch { /* keep as is */ }
    return { page: 'apps', id };
  }
  const m = /^\/(study|read)\/([^/]+)$/.exec(path);
  if (m) {
    let uid = m[2];
    try { uid = decodeURIComponent(uid); } catch { /* keep as is */ }
    return { page: m[1] as 'study' | 'read', uid };
  }
  return { page: 'notFound', path: pathname };
}

const CHANGE = 'radflow:navigate';

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const current = window.location.pathname + window.location.search;
  if (to === current) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
}

export interface Location { pathname: string; search: string }

export function useLocation(): Location {
  const read = () => ({ pathname: window.location.pathname, search: window.location.search });
  const [loc, setLoc] = useState<Location>(read);
  useEffect(() => {
    const update = () => setLoc((prev) => {
      const next = read();
      return prev.pathname === next.pathname && prev.search === next.search ? prev : next;
    });
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return loc;
}

export function studyPath(uid: string): string { return `/study/${encodeURIComponent(uid)}`; }
export function readPath(uid: string): string { return `/read/${encodeURIComponent(uid)}`; }
export function appPath(id: string): string { return `/apps/${encodeURIComponent(id)}`; }

/** An <a> that navigates in the page (modified clicks keep the browser's behaviour). */
export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}
