import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { Link, matchRoute, useLocation } from './router';
import { FOCUS_READER_EVENT, setReader } from './lib/reader';
import { useReader } from './hooks/useReader';
import { WorklistPage } from './pages/WorklistPage';
import { StudyPage } from './pages/StudyPage';
import { ReadingPage } from './pages/ReadingPage';
import { FollowupsPage } from './pages/FollowupsPage';
import { AppsPage } from './pages/AppsPage';

// The charts library is loaded with the performance page only (its own chunk).
const PerformancePage = lazy(() => import('./pages/PerformancePage').then((m) => ({ default: m.PerformancePage })));

function ReaderBox() {
  const reader = useReader();
  const [draft, setDraft] = useState(reader);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(reader), [reader]);
  useEffect(() => {
    const focus = () => input.current?.focus();
    window.addEventListener(FOCUS_READER_EVENT, focus);
    return () => window.removeEventListener(FOCUS_READER_EVENT, focus);
  }, []);
  const commit = () => { if (draft.trim() !== reader) setReader(draft); };
  return (
    <label className={`reader-box${reader ? '' : ' reader-missing'}`} title="Your name, sent with every change (X-Radflow-Reader)">
      Reader
      <input
        ref={input}
        data-testid="reader-input"
        value={draft}
        placeholder="your name"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') { commit(); e.currentTarget.blur(); }
          if (e.key === 'Escape') { setDraft(reader); e.currentTarget.blur(); }
        }}
      />
    </label>
  );
}

export function App() {
  const { pathname, search } = useLocation();
  const route = matchRoute(pathname);
  return (
    <div className={`app page-${route.page}`}>
      <header className="topbar">
        <Link to="/worklist" className="brand">radflow</Link>
        <nav>
          <Link to="/worklist" className={route.page === 'worklist' ? 'active' : ''}>Worklist</Link>
          <Link to="/followups" className={route.page === 'followups' ? 'active' : ''}>Follow-ups</Link>
          <Link to="/performance" className={route.page === 'performance' ? 'active' : ''}>AI performance</Link>
          <Link to="/apps" className={route.page === 'apps' ? 'active' : ''}>Apps</Link>
          <a href="/ohif/">OHIF study list</a>
        </nav>
        <span className="spacer" />
        <ReaderBox />
      </header>
      <main>
        {route.page === 'worklist' && <WorklistPage search={search} />}
        {route.page === 'study' && <StudyPage key={route.uid} uid={route.uid} />}
        {route.page === 'read' && <ReadingPage key={route.uid} uid={route.uid} />}
        {route.page === 'followups' && <FollowupsPage search={search} />}
        {route.page === 'performance' && (
          <Suspense fallback={<p className="muted admin-page">Loading…</p>}><PerformancePage search={search} /></Suspense>
        )}
        {route.page === 'apps' && <AppsPage selected={route.id} />}
        {route.page === 'notFound' && (
          <div className="panel"><h2>Not found</h2><p>No page at {route.path}. <Link to="/worklist">Worklist</Link></p></div>
        )}
      </main>
    </div>
  );
}
