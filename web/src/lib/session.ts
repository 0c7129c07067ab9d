// The worklist view last shown (filters, sort), so that the reading view's n/p follow the
// same order and "back" returns to it.
const KEY = 'radflow.worklist.search';

export function saveWorklistSearch(search: string): void {
  try { sessionStorage.setItem(KEY, search); } catch { /* ignore */ }
}

export function loadWorklistSearch(): string {
  try { return sessionStorage.getItem(KEY) ?? ''; } catch { return ''; }
}
