import { describe, expect, it } from 'vitest';
import {
  EMPTY_SELECTION, adjacentStudy, isTypingTarget, readingCommand, selectionReducer, worklistCommand,
  type Selection, type SelectionAction,
} from './keyboard';

const run = (actions: SelectionAction[], from: Selection = EMPTY_SELECTION) => actions.reduce(selectionReducer, from);

describe('worklistCommand', () => {
  it('maps the worklist keys', () => {
    expect(worklistCommand({ key: 'j' })).toBe('next');
    expect(worklistCommand({ key: 'ArrowDown' })).toBe('next');
    expect(worklistCommand({ key: 'k' })).toBe('prev');
    expect(worklistCommand({ key: 'ArrowUp' })).toBe('prev');
    expect(worklistCommand({ key: 'Enter' })).toBe('open');
    expect(worklistCommand({ key: 'o' })).toBe('open');
    expect(worklistCommand({ key: 'c' })).toBe('claim');
    expect(worklistCommand({ key: 'r' })).toBe('release');
    expect(worklistCommand({ key: 's' })).toBe('study');
    expect(worklistCommand({ key: '/' })).toBe('focusFilter');
    expect(worklistCommand({ key: 'x' })).toBeNull();
  });
  it('leaves modified keys and typing alone', () => {
    expect(worklistCommand({ key: 'r', ctrlKey: true })).toBeNull();
    expect(worklistCommand({ key: 'c', metaKey: true })).toBeNull();
    expect(worklistCommand({ key: 'j', altKey: true })).toBeNull();
    const input = document.createElement('input');
    expect(worklistCommand({ key: 'j', target: input })).toBeNull();
    const checkbox = document.createElement('input');
    checkbox.type = 'checkbox';
    expect(worklistCommand({ key: 'j', target: checkbox })).toBe('next');
    expect(worklistCommand({ key: 'j', target: document.createElement('select') })).toBeNull();
    expect(worklistCommand({ key: 'j', target: document.body })).toBe('next');
  });
  it('maps the reading keys', () => {
    expect(readingCommand({ key: 'n' })).toBe('nextStudy');
    expect(readingCommand({ key: 'p' })).toBe('prevStudy');
    expect(readingCommand({ key: 'Escape' })).toBe('back');
    expect(readingCommand({ key: 'j' })).toBeNull();
    expect(readingCommand({ key: 'n', target: document.createElement('textarea') })).toBeNull();
  });
  it('recognises typing targets', () => {
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget(document.createElement('div'))).toBe(false);
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true);
  });
});

describe('selectionReducer', () => {
  it('selects the first row when rows arrive', () => {
    expect(run([{ type: 'rows', uids: ['a', 'b', 'c'] }])).toEqual({ uids: ['a', 'b', 'c'], selected: 'a', index: 0 });
    expect(run([{ type: 'rows', uids: [] }])).toEqual({ uids: [], selected: null, index: -1 });
  });
  it('moves down and up and stops at the ends', () => {
    const s = run([{ type: 'rows', uids: ['a', 'b', 'c'] }, { type: 'next' }, { type: 'next' }, { type: 'next' }]);
    expect(s.selected).toBe('c');
    const t = run([{ type: 'prev' }, { type: 'prev' }, { type: 'prev' }], s);
    expect(t.selected).toBe('a');
    expect(t.index).toBe(0);
  });
  it('keeps the selected study when the list re-orders', () => {
    const s = run([{ type: 'rows', uids: ['a', 'b', 'c'] }, { type: 'next' }]);
    expect(s.selected).toBe('b');
    const t = selectionReducer(s, { type: 'rows', uids: ['b', 'c', 'a', 'd'] });
    expect(t).toEqual({ uids: ['b', 'c', 'a', 'd'], selected: 'b', index: 0 });
    expect(selectionReducer(t, { type: 'next' }).selected).toBe('c');
  });
  it('lands on the row in its place when the selected one goes', () => {
    const s = run([{ type: 'rows', uids: ['a', 'b', 'c'] }, { type: 'next' }]);
    expect(selectionReducer(s, { type: 'rows', uids: ['a', 'c'] }).selected).toBe('c');
    const last = run([{ type: 'rows', uids: ['a', 'b', 'c'] }, { type: 'next' }, { type: 'next' }]);
    expect(selectionReducer(last, { type: 'rows', uids: ['a', 'b'] }).selected).toBe('b');
    expect(selectionReducer(last, { type: 'rows', uids: [] }).selected).toBeNull();
  });
  it('selects by click only rows that exist', () => {
    const s = run([{ type: 'rows', uids: ['a', 'b', 'c'] }, { type: 'select', uid: 'c' }]);
    expect(s).toMatchObject({ selected: 'c', index: 2 });
    expect(selectionReducer(s, { type: 'select', uid: 'zz' })).toBe(s);
  });
});

describe('adjacentStudy', () => {
  const items = [
    { study_uid: 'a', reader: '', state: 'unread' },
    { study_uid: 'b', reader: 'other', state: 'in_progress' },
    { study_uid: 'c', reader: 'me', state: 'in_progress' },
    { study_uid: 'd', reader: '', state: 'final' },
    { study_uid: 'e', reader: '', state: 'preliminary' },
  ];
  it('skips studies held by others and finished ones', () => {
    expect(adjacentStudy(items, 'a', 1, 'me')?.study_uid).toBe('c');
    expect(adjacentStudy(items, 'c', 1, 'me')?.study_uid).toBe('e');
    expect(adjacentStudy(items, 'e', 1, 'me')).toBeNull();
    expect(adjacentStudy(items, 'e', -1, 'me')?.study_uid).toBe('c');
    expect(adjacentStudy(items, 'c', -1, 'me')?.study_uid).toBe('a');
    expect(adjacentStudy(items, 'a', -1, 'me')).toBeNull();
  });
  it('starts from the top when the current study has left the list', () => {
    expect(adjacentStudy(items, 'gone', 1, 'me')?.study_uid).toBe('a');
    expect(adjacentStudy(items, 'gone', -1, 'me')?.study_uid).toBe('e');
    expect(adjacentStudy([], 'gone', 1, 'me')).toBeNull();
  });
});
