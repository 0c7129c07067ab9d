// The reader's name: kept in localStorage, sent as X-Radflow-Reader on every API call.
const KEY = 'radflow.reader';
const listeners = new Set<(name: string) => void>();
let memory = '';  // when localStorage is unavailable

export function getReader(): string {
  try {
    return (localStorage.getItem(KEY) ?? '').trim();
  } catch {
    return memory;
  }
}

export function setReader(name: string): void {
  const v = name.trim();
  memory = v;
  try {
    if (v) localStorage.setItem(KEY, v);
    else localStorage.removeItem(KEY);
  } catch {
    // private mode: the name lives for this page only
  }
  for (const l of listeners) l(v);
}

export function onReaderChange(listener: (name: string) => void): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}

/** Dispatched on window to put the cursor into the header's reader box. */
export const FOCUS_READER_EVENT = 'radflow:focus-reader';
