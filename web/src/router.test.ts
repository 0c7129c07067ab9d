import { describe, expect, it } from 'vitest';
import { appPath, matchRoute, readPath, studyPath } from './router';

describe('matchRoute', () => {
  it('finds the three pages', () => {
    expect(matchRoute('/')).toEqual({ page: 'worklist' });
    expect(matchRoute('/worklist')).toEqual({ page: 'worklist' });
    expect(matchRoute('/worklist/')).toEqual({ page: 'worklist' });
    expect(matchRoute('/study/1.2.840.1')).toEqual({ page: 'study', uid: '1.2.840.1' });
    expect(matchRoute('/read/1.2.840.1')).toEqual({ page: 'read', uid: '1.2.840.1' });
    expect(matchRoute('/nope')).toEqual({ page: 'notFound', path: '/nope' });
    expect(matchRoute('/study/a/b')).toEqual({ page: 'notFound', path: '/study/a/b' });
  });
  it('round-trips paths', () => {
    expect(matchRoute(studyPath('1.2.3'))).toEqual({ page: 'study', uid: '1.2.3' });
    expect(matchRoute(readPath('1.2.3'))).toEqual({ page: 'read', uid: '1.2.3' });
  });
});

describe('matchRoute: follow-ups, AI performance and apps', () => {
  it('finds the administrative pages', () => {
    expect(matchRoute('/followups')).toEqual({ page: 'followups' });
    expect(matchRoute('/performance/')).toEqual({ page: 'performance' });
    expect(matchRoute('/apps')).toEqual({ page: 'apps' });
    expect(matchRoute(appPath('lung nodules'))).toEqual({ page: 'apps', id: 'lung nodules' });
    expect(matchRoute('/apps/a/b')).toEqual({ page: 'notFound', path: '/apps/a/b' });
  });
});
