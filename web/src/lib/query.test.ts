import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VIEW, EMPTY_FILTERS, hasFilters, searchToView, toDicomDate, toInputDate, viewToSearch,
  worklistUrl, type ListView,
} from './query';

const view = (filters: Partial<typeof EMPTY_FILTERS>, rest: Partial<ListView> = {}): ListView =>
  ({ ...DEFAULT_VIEW, ...rest, filters: { ...EMPTY_FILTERS, ...filters } });

describe('worklistUrl', () => {
  it('sends only sort and limit by default', () => {
    expect(worklistUrl(DEFAULT_VIEW)).toBe('/api/v1/worklist?sort=priority&limit=50');
  });
  it('sends every filter that is set, normalised', () => {
    const url = worklistUrl(view({
      modality: ' ct ', body_part: 'head', priority: 'stat, high,,STAT', state: 'unread,in_progress',
      ai_flag: 'critical', from: '2024-01-31', to: '20240229', patient: ' Lung_Dx ', site: 'General',
    }));
    const q = new URL(url, 'http://x').searchParams;
    expect(q.get('modality')).toBe('CT');
    expect(q.get('body_part')).toBe('HEAD');
    expect(q.get('priority')).toBe('STAT,HIGH');
    expect(q.get('state')).toBe('unread,in_progress');
    expect(q.get('ai_flag')).toBe('critical');
    expect(q.get('from')).toBe('20240131');
    expect(q.get('to')).toBe('20240229');
    expect(q.get('patient')).toBe('Lung_Dx');
    expect(q.get('site')).toBe('General');
    expect(q.has('reader')).toBe(false);
  });
  it('encodes values and pages with offset', () => {
    const url = worklistUrl(view({ patient: 'Doe^J&x' }, { page: 2, pageSize: 25, sort: 'waiting' }));
    expect(url).toContain('patient=Doe%5EJ%26x');
    expect(url).toContain('sort=waiting');
    expect(url).toContain('limit=25');
    expect(url).toContain('offset=50');
  });
  it('drops a date that is not one', () => {
    expect(worklistUrl(view({ from: 'yesterday' }))).not.toContain('from=');
  });
});

describe('page URL round trip', () => {
  it('is empty for the default view', () => {
    expect(viewToSearch(DEFAULT_VIEW)).toBe('');
    expect(searchToView('')).toEqual(DEFAULT_VIEW);
  });
  it('keeps filters, sort and a 1-based page', () => {
    const v = view({ modality: 'CT', ai_flag: 'any' }, { page: 1, sort: 'arrived' });
    const s = viewToSearch(v);
    expect(s).toBe('?modality=CT&ai_flag=any&sort=arrived&page=2');
    expect(searchToView(s)).toEqual(v);
  });
  it('ignores bad values', () => {
    const v = searchToView('?sort=bogus&page=-3&limit=99999&x=1');
    expect(v.sort).toBe('priority');
    expect(v.page).toBe(0);
    expect(v.pageSize).toBe(DEFAULT_VIEW.pageSize);
  });
});

describe('dates and flags', () => {
  it('converts between date input and DICOM dates', () => {
    expect(toDicomDate('2024-01-31')).toBe('20240131');
    expect(toDicomDate('20240131')).toBe('20240131');
    expect(toDicomDate('31.01.2024')).toBe('');
    expect(toInputDate('20240131')).toBe('2024-01-31');
    expect(toInputDate('')).toBe('');
  });
  it('knows when a filter is set', () => {
    expect(hasFilters(EMPTY_FILTERS)).toBe(false);
    expect(hasFilters({ ...EMPTY_FILTERS, site: 'A' })).toBe(true);
    expect(hasFilters({ ...EMPTY_FILTERS, site: '  ' })).toBe(false);
  });
});
