// What each role sees in the app (docs/access-control.md has the server's table, which is
// what counts: hiding a page here is only for the user's sake). Pages of router.tsx.
import type { Route } from '../router';

export type Page = Route['page'];

export interface NavItem { page: Page; to: string; label: string }

/** The header's links in order; `ohif` is the viewer's study list, outside the app. */
export const NAV: NavItem[] = [
  { page: 'worklist', to: '/worklist', label: 'Worklist' },
  { page: 'studies', to: '/orders', label: 'Studies' },
  { page: 'exams', to: '/exams', label: 'Exams' },
  { page: 'scheduling', to: '/scheduling', label: 'Scheduling' },
  { page: 'followups', to: '/followups', label: 'Follow-ups' },
  { page: 'performance', to: '/performance', label: 'AI performance' },
  { page: 'apps', to: '/apps', label: 'Apps' },
  { page: 'research', to: '/research', label: 'Research' },
  { page: 'users', to: '/users', label: 'Users' },
  { page: 'audit', to: '/audit', label: 'Audit' },
];

const CLINICAL: Page[] = ['worklist', 'study', 'read', 'followups', 'performance', 'apps'];

const PAGES: Record<string, Page[]> = {
  administrator: [...CLINICAL, 'research', 'users', 'audit', 'exams', 'scheduling'],
  radiologist: CLINICAL,
  technologist: ['worklist', 'study', 'followups', 'apps', 'exams', 'scheduling'],
  // A referring physician sees the studies of their own orders only (the server filters).
  referring: ['studies'],
  // Only de-identified data, through the export: never a clinical page.
  researcher: ['research'],
  'ai-service': [],
};

/** Whether `role` may open `page` (notFound and the home redirect are everyone's). */
export function canSee(role: string, page: Page): boolean {
  if (page === 'notFound') return true;
  return (PAGES[role] ?? []).includes(page);
}

/** Whether the header links the OHIF study list (the viewer of clinical images). */
export function canSeeViewer(role: string): boolean {
  return role === 'administrator' || role === 'radiologist' || role === 'technologist' || role === 'referring';
}

export function navFor(role: string): NavItem[] {
  return NAV.filter((n) => canSee(role, n.page));
}

/** Where "/" leads: the worklist, or the role's first page. */
export function homeFor(role: string): string {
  // The technologist's day starts at the scanner's exam list (docs/exams.md).
  if (canSee(role, 'exams') && !canSee(role, 'read')) return '/exams';
  if (canSee(role, 'worklist')) return '/worklist';
  if (canSee(role, 'studies')) return '/orders';
  const first = navFor(role)[0];
  return first ? first.to : '';
}

export const ROLE_LABELS: Record<string, string> = {
  administrator: 'administrator', radiologist: 'radiologist', technologist: 'technologist',
  referring: 'referring physician', researcher: 'researcher', 'ai-service': 'AI service',
};
