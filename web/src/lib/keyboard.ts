// Keyboard control of the worklist and the reading view: which key does what, and the
// selection as a reducer over the list's rows (kept across re-fetches by study UID).

export type WorklistCommand = 'next' | 'prev' | 'open' | 'claim' | 'release' | 'study' | 'focusFilter';
export type ReadingCommand = 'nextStudy' | 'prevStudy' | 'back';

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: EventTarget | null;
}

/** True when the key goes to a text field, a select or an editable element, not to us. */
export function isTypingTarget(target: EventTarget | null | undefined): boolean {
  const el = target as HTMLElement | null | undefined;
  if (!el || typeof el !== 'object' || !('tagName' in el)) return false;
  const tag = String(el.tagName).toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = String((el as HTMLInputElement).type || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'submit', 'reset'].includes(type);
  }
  return Boolean(el.isContentEditable);
}

const WORKLIST_KEYS: Record<string, WorklistCommand> = {
  j: 'next', ArrowDown: 'next',
  k: 'prev', ArrowUp: 'prev',
  Enter: 'open', o: 'open',
  c: 'claim',
  r: 'release',
  s: 'study',
  '/': 'focusFilter',
};

const READING_KEYS: Record<string, ReadingCommand> = {
  n: 'nextStudy',
  p: 'prevStudy',
  Escape: 'back',
};

function plain(e: KeyLike): boolean {
  return !e.ctrlKey && !e.metaKey && !e.altKey && !isTypingTarget(e.target);
}

/** The worklist command of a key press, or null (modifiers and text fields excluded). */
export function worklistCommand(e: KeyLike): WorklistCommand | null {
  if (!plain(e)) return null;
  return WORKLIST_KEYS[e.key] ?? null;
}

/** The reading view's command of a key press, or null. */
export function readingCommand(e: KeyLike): ReadingCommand | null {
  if (!plain(e)) return null;
  return READING_KEYS[e.key] ?? null;
}

export interface Selection {
  uids: string[];        // the rows, in the order shown
  selected: string | null;
  index: number;         // where the selection was, to land near it when its row goes
}

export type SelectionAction =
  | { type: 'rows'; uids: string[] }
  | { type: 'next' }
  | { type: 'prev' }
  | { type: 'select'; uid: string };

export const EMPTY_SELECTION: Selection = { uids: [], selected: null, index: -1 };

function at(uids: string[], index: number): Selection {
  if (!uids.length) return { uids, selected: null, index: -1 };
  const i = Math.min(Math.max(index, 0), uids.length - 1);
  return { uids, selected: uids[i], index: i };
}

export function selectionReducer(state: Selection, action: SelectionAction): Selection {
  switch (action.type) {
    case 'rows': {
      const { uids } = action;
      if (state.selected !== null) {
        const i = uids.indexOf(state.selected);
        if (i >= 0) return { uids, selected: state.selected, index: i };
        // The selected row went (read by someone, filtered out): the row now in its place.
        return at(uids, state.index);
      }
      return at(uids, 0);
    }
    case 'next':
      return at(state.uids, state.selected === null ? 0 : state.index + 1);
    case 'prev':
      return at(state.uids, state.selected === null ? 0 : state.index - 1);
    case 'select': {
      const i = state.uids.indexOf(action.uid);
      return i >= 0 ? { ...state, selected: action.uid, index: i } : state;
    }
    default:
      return state;
  }
}

/**
 * The study to read after (dir +1) or before (dir −1) `current` in the worklist order,
 * skipping those another reader holds and those already reported or cancelled. When
 * `current` is not in the list (it was just finished, say) the first eligible item is next.
 */
export function adjacentStudy<T extends { study_uid: string; reader: string; state: string }>(
  items: T[], current: string, dir: 1 | -1, me: string,
): T | null {
  const eligible = (it: T) => it.study_uid !== current &&
    (it.state === 'unread' || it.state === 'preliminary' ||
     (it.state === 'in_progress' && (!it.reader || it.reader === me)));
  const i = items.findIndex((it) => it.study_uid === current);
  if (i < 0) {
    const list = dir === 1 ? items : [...items].reverse();
    return list.find(eligible) ?? null;
  }
  for (let j = i + dir; j >= 0 && j < items.length; j += dir) {
    if (eligible(items[j])) return items[j];
  }
  return null;
}
