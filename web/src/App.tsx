import { lazy, Suspense, useEffect } from 'react';
import { Link, matchRoute, navigate, useLocation, type Route } from './router';
import type { Identity } from './api/security';
import { canSee, canSeeViewer, homeFor, navFor } from './auth/access';
import { IdentityContext } from './auth/identity';
import { useSession } from './auth/useSession';
import { UserMenu } from './components/UserMenu';
import { WorklistPage } from './pages/WorklistPage';
import { StudyPage } from './pages/StudyPage';
import { ReadingPage } from './pages/ReadingPage';
import { FollowupsPage } from './pages/FollowupsPage';
import { AppsPage } from './pages/AppsPage';
import { UsersPage } from './pages/UsersPage';
import { AuditPage } from './pages/AuditPage';
import { ResearchPage } from './pages/ResearchPage';
import { OrdersPage } from './pages/OrdersPage';
import { ExamsPage } from './pages/ExamsPage';
import { SchedulingPage } from './pages/SchedulingPage';

// The charts library is loaded with the performance page only (its own chunk).
const PerformancePage = lazy(() => import('./pages/PerformancePage').then((m) => ({ default: m.PerformancePage })));

function Page({ route, search }: { route: Route; search: string }) {
  switch (route.page) {
    case 'worklist': return <WorklistPage search={search} />;
    case 'study': return <StudyPage key={route.uid} uid={route.uid} />;
    case 'read': return <ReadingPage key={route.uid} uid={route.uid} />;
    case 'followups': return <FollowupsPage search={search} />;
    case 'performance':
      return <Suspense fallback={<p className="muted admin-page">Loading…</p>}><PerformancePage search={search} /></Suspense>;
    case 'apps': return <AppsPage selected={route.id} />;
    case 'research': return <ResearchPage />;
    case 'users': return <UsersPage />;
    case 'audit': return <AuditPage search={search} />;
    case 'studies': return <OrdersPage />;
    case 'exams': return <ExamsPage search={search} />;
    case 'scheduling': return <SchedulingPage search={search} />;
    case 'notFound':
      return <div className="panel"><h2>Not found</h2><p>No page at {route.path}. <Link to="/">Home</Link></p></div>;
  }
}

function Shell({ identity }: { identity: Identity }) {
  const { pathname, search } = useLocation();
  const route = matchRoute(pathname);
  const role = identity.role;
  const home = homeFor(role);
  const isRoot = (pathname.replace(/\/+$/, '') || '/') === '/';
  // "/" is the worklist for those who have one, else the role's own first page.
  useEffect(() => {
    if (isRoot && home && home !== '/worklist') navigate(home, { replace: true });
  }, [isRoot, home]);
  const allowed = canSee(role, route.page);
  return (
    <IdentityContext.Provider value={identity}>
      <div className={`app page-${route.page}`}>
        <header className="topbar">
          <Link to={home || '/'} className="brand">radflow</Link>
          <nav data-testid="nav">
            {navFor(role).map((n) => (
              <Link key={n.page} to={n.to} className={route.page === n.page ? 'active' : ''} data-testid={`nav-${n.page}`}>{n.label}</Link>
            ))}
            {canSeeViewer(role) && <a href="/ohif/" data-testid="nav-ohif">OHIF study list</a>}
          </nav>
          <span className="spacer" />
          <UserMenu identity={identity} />
        </header>
        <main>
          {allowed && <Page route={route} search={search} />}
          {!allowed && !(isRoot && home) && (
            <div className="panel" data-testid="forbidden">
              <h2>Not available</h2>
              <p>The role {role} does not open this page.{home && <> <Link to={home}>Your start page</Link></>}</p>
              {!home && <p className="muted">This account is for programs (API tokens); there is nothing to show here.</p>}
            </div>
          )}
        </main>
      </div>
    </IdentityContext.Provider>
  );
}

export function App() {
  const session = useSession();
  if (session.state === 'ready') return <Shell identity={session.identity} />;
  return (
    <div className="app boot">
      <header className="topbar"><span className="brand">radflow</span></header>
      <main>
        {session.state === 'loading' && <p className="muted admin-page" data-testid="boot">Loading…</p>}
        {session.state === 'signed-out' && <p className="muted admin-page" data-testid="boot">Not signed in: going to the sign-in page…</p>}
        {session.state === 'error' && (
          <div className="panel" role="alert">
            <p className="error">{session.error}</p>
            <button type="button" onClick={session.retry}>Try again</button>
          </div>
        )}
      </main>
    </div>
  );
}
