// Worklist filters ↔ the query string of GET /api/v1/worklist and of the page's own URL.

export interface Filters {
  modality: string;
  body_part: string;
  priority: string;  // order priority, comma list ("STAT,HIGH")
  state: string;     // "" = the server's default (unread,in_progress,preliminary); "all"
  ai_flag: string;   // critical | high | moderate | low | info | any | none
  from: string;      // YYYY-MM-DD (date input) or YYYYMMDD
  to: string;
  patient: string;
  site: string;
  reader: string;
}

export type SortKey = 'priority' | 'waiting' | 'arrived' | 'study_date';
export const SORT_KEYS: SortKey[] = ['priority', 'waiting', 'arrived', 'study_date'];

export interface ListView {
  filters: Filters;
  sort: SortKey;
  page: number;      // 0-based
  pageSize: number;
}

export const EMPTY_FILTERS: Filters = {
  modality: '', body_part: '', priority: '', state: '', ai_flag: '', from: '', to: '',
  patient: '', site: '', reader: '',
};
export const DEFAULT_PAGE_SIZE = 50;
export const DEFAULT_VIEW: ListView = {
  filters: EMPTY_FILTERS, sort: 'priority', page: 0, pageSize: DEFAULT_PAGE_SIZE,
};

const FILTER_KEYS = Object.keys(EMPTY_FILTERS) as (keyof Filters)[];

/** "2024-01-31" or "20240131" → "20240131"; "" for anything that is not a date. */
export function toDicomDate(value: string): string {
  const v = value.trim();
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(v);
  return m ? `${m[1]}${m[2]}${m[3]}` : '';
}

/** "20240131" → "2024-01-31" (for a date input). */
export function toInputDate(value: string): string {
  const d = toDicomDate(value);
  return d ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : '';
}

/** Comma list: trimmed, upper-cased where asked, empties and duplicates dropped. */
function normaliseList(value: string, upper: boolean): string {
  const seen = new Set<string>();
  for (const part of value.split(',')) {
    const p = upper ? part.trim().toUpperCase() : part.trim();
    if (p) seen.add(p);
  }
  return [...seen].join(',');
}

/** The API's query parameters for filters (only those set), sort and paging. */
export function worklistParams(view: ListView): URLSearchParams {
  const f = view.filters;
  const params = new URLSearchParams();
  const set = (k: string, v: string) => { if (v) params.set(k, v); };
  set('state', normaliseList(f.state, false));
  set('modality', f.modality.trim().toUpperCase());
  set('body_part', f.body_part.trim().toUpperCase());
  set('priority', normaliseList(f.priority, true));
  set('ai_flag', f.ai_flag.trim());
  set('from', toDicomDate(f.from));
  set('to', toDicomDate(f.to));
  set('patient', f.patient.trim());
  set('site', f.site.trim());
  set('reader', f.reader.trim());
  params.set('sort', view.sort);
  params.set('limit', String(view.pageSize));
  if (view.page > 0) params.set('offset', String(view.page * view.pageSize));
  return params;
}

/** "/api/v1/worklist?..." for a view of the list. */
export function worklistUrl(view: ListView): string {
  return `/api/v1/worklist?${worklistParams(view).toString()}`;
}

/** The page's own URL search ("?modality=CT&page=2") for a view; "" for the default view. */
export function viewToSearch(view: ListView): string {
  const params = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = view.filters[k].trim();
    if (v) params.set(k, v);
  }
  if (view.sort !== 'priority') params.set('sort', view.sort);
  if (view.page > 0) params.set('page', String(view.page + 1));
  if (view.pageSize !== DEFAULT_PAGE_SIZE) params.set('limit', String(view.pageSize));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The view a page URL's search describes; unknown or bad values fall back to defaults. */
export function searchToView(search: string): ListView {
  const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const filters: Filters = { ...EMPTY_FILTERS };
  for (const k of FILTER_KEYS) filters[k] = params.get(k) ?? '';
  const sortParam = params.get('sort') as SortKey | null;
  const sort: SortKey = sortParam && SORT_KEYS.includes(sortParam) ? sortParam : 'priority';
  const pageNo = Number.parseInt(params.get('page') ?? '', 10);
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  return {
    filters,
    sort,
    page: Number.isFinite(pageNo) && pageNo > 1 ? pageNo - 1 : 0,
    pageSize: Number.isFinite(limit) && limit >= 1 && limit <= 1000 ? limit : DEFAULT_PAGE_SIZE,
  };
}

/** True when any filter is set. */
export function hasFilters(f: Filters): boolean {
  return FILTER_KEYS.some((k) => f[k].trim() !== '');
}
