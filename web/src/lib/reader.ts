// The reader's name: the signed-in user (GET /api/v1/auth/me, set by the app at start). It
// lives in memory only — the server takes the user from the session, never from the page;
// the name is still sent as X-Radflow-Reader for the log of older servers and the tests.
const listeners = new Set<(name: string) => void>();
let current = '';

export function getReader(): string {
  return current;
}

export function setReader(name: string): void {
  current = name.trim();
  for (const l of listeners) l(current);
}

export function onReaderChange(listener: (name: string) => void): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}

/** Dispatched on window when a page needs the reader's name (no longer asked for: signed in). */
export const FOCUS_READER_EVENT = 'radflow:focus-reader';
