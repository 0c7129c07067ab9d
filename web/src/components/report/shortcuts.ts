// The report editor's keys. They all carry a modifier, so that they work while typing in the
// report and never meet the reading view's plain keys (n, p, Escape). Letters are read from
// the physical key (KeyboardEvent.code) so that Alt+A works on layouts where Alt types a
// character (macOS Option+A is "å"). Chromium keeps Alt+E/Alt+F (its menu) and Alt+D (the
// address bar) for itself: the editor leaves them alone.

export type ReportCommand =
  | 'accept' | 'reject' | 'edit' | 'nextProposal' | 'prevProposal'
  | 'save' | 'sign' | 'qa' | 'findings' | 'impression';

export interface KeyLike {
  key: string;
  code?: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

const ALT: Record<string, ReportCommand> = {
  a: 'accept', r: 'reject', m: 'edit', j: 'nextProposal', k: 'prevProposal',
  q: 'qa', t: 'findings', i: 'impression',
};

function letter(e: KeyLike): string {
  if (e.code && /^Key[A-Z]$/.test(e.code)) return e.code.slice(3).toLowerCase();
  return e.key.length === 1 ? e.key.toLowerCase() : e.key;
}

/** The editor command of a key press, or null. */
export function reportCommand(e: KeyLike): ReportCommand | null {
  const ctrl = Boolean(e.ctrlKey || e.metaKey);
  if (ctrl && !e.altKey && !e.shiftKey && letter(e) === 's') return 'save';
  if (ctrl && !e.altKey && e.key === 'Enter') return 'sign';
  if (e.altKey && !ctrl && !e.shiftKey) return ALT[letter(e)] ?? null;
  return null;
}

/** For the help list in the editor and docs/report-editor.md. */
export const SHORTCUTS: [string, string][] = [
  ['Alt+J / Alt+K', 'next / previous AI proposal (↓ ↑ when a proposal has the focus)'],
  ['Alt+A', 'accept the focused AI proposal (its sentence goes into the findings)'],
  ['Alt+M', 'edit (modify) the focused proposal: sentence and values'],
  ['Alt+R', 'reject the focused proposal; type an optional reason, Enter'],
  ['Alt+T / Alt+I', 'to the findings / impression text'],
  ['Alt+Q', 'save and run the QA checks; focus the first issue'],
  ['Ctrl+S', 'save the draft now (it also saves itself a second after you stop typing)'],
  ['Ctrl+Enter', 'open the sign dialog'],
  ['Escape', 'close the dialog, cancel a reject or an edit'],
];
