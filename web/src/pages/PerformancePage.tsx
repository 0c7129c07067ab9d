// AI performance over time (GET /api/v1/ai/performance): per app and version the results,
// the radiologists' accepted / edited / rejected rates and the agreement with the signed
// reports, in a table and three weekly plots.
import { useMemo } from 'react';
import { admin, type AppPerformance } from '../api/admin';
import { WeeklyChart } from '../components/charts/WeeklyChart';
import { chartSeries, compareVersions, formatRate, weeklyRows } from '../components/charts/series';

export { formatRate };
import { useResource } from '../hooks/useResource';
import { appPath, Link, navigate } from '../router';

const WEEK_CHOICES = [4, 8, 12, 26, 52];

export interface PerformanceView { app_id: string; weeks: number }

export function searchToPerformanceView(search: string): PerformanceView {
  const p = new URLSearchParams(search);
  const weeks = Number(p.get('weeks'));
  return { app_id: p.get('app_id') ?? '', weeks: Number.isInteger(weeks) && weeks > 0 && weeks <= 520 ? weeks : 12 };
}

export function performanceViewToSearch(v: PerformanceView): string {
  const p = new URLSearchParams();
  if (v.app_id) p.set('app_id', v.app_id);
  if (v.weeks !== 12) p.set('weeks', String(v.weeks));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** App id, then newest version first. */
export function sortPerformance(apps: AppPerformance[]): AppPerformance[] {
  return [...apps].sort((a, b) => (a.app_id === b.app_id
    ? compareVersions(b.app_version, a.app_version) : a.app_id < b.app_id ? -1 : 1));
}

export function PerformancePage({ search }: { search: string }) {
  const view = useMemo(() => searchToPerformanceView(search), [search]);
  const res = useResource(() => admin.performance({ app_id: view.app_id || undefined, weeks: view.weeks }),
    [view.app_id, view.weeks]);
  // The app choices come from the unfiltered answer when we have it (ids seen so far).
  const all = useResource(() => admin.performance({ weeks: view.weeks }), [view.weeks]);
  const apps = useMemo(() => sortPerformance(res.data?.apps ?? []), [res.data]);
  const ids = useMemo(() => [...new Set([...(all.data?.apps ?? []).map((a) => a.app_id), view.app_id].filter(Boolean))].sort(),
    [all.data, view.app_id]);
  const series = useMemo(() => chartSeries(apps), [apps]);
  const agreement = useMemo(() => weeklyRows(apps, 'agreement'), [apps]);
  const acceptance = useMemo(() => weeklyRows(apps, 'acceptance'), [apps]);
  const results = useMemo(() => weeklyRows(apps, 'results'), [apps]);
  const setView = (next: Partial<PerformanceView>) =>
    navigate(`/performance${performanceViewToSearch({ ...view, ...next })}`, { replace: true });

  return (
    <div className="admin-page performance-page" data-testid="performance-page">
      <div className="admin-head">
        <h2>AI performance</h2>
        <label className="inline">App
          <select name="app_id" value={view.app_id} onChange={(e) => setView({ app_id: e.target.value })}>
            <option value="">all apps</option>
            {ids.map((id) => <option key={id} value={id}>{id}</option>)}
          </select>
        </label>
        <label className="inline">Last
          <select name="weeks" value={view.weeks} onChange={(e) => setView({ weeks: Number(e.target.value) })}>
            {[...new Set([...WEEK_CHOICES, view.weeks])].sort((a, b) => a - b)
              .map((w) => <option key={w} value={w}>{w} weeks</option>)}
          </select>
        </label>
        <button type="button" onClick={() => { void res.reload(); void all.reload(); }}>Refresh</button>
      </div>
      <p className="muted small">
        Rates are shares of the findings a radiologist decided (accepted, edited or rejected).
        Agreement = (accepted + edited) ÷ decided, counted over findings of studies whose report is signed;
        “—” where nothing was decided.
      </p>
      {res.error && <div className="message message-error" role="alert">{res.error}</div>}
      {!res.data && !res.error && <p className="muted">Loading…</p>}
      {res.data && apps.length === 0 && <p className="muted" data-testid="perf-empty">No AI results in these weeks.</p>}
      {apps.length > 0 && (
        <>
          <table className="grid perf-table" data-testid="perf-table">
            <thead>
              <tr>
                <th>App</th><th>Version</th>
                <th className="num" title="AI result sets (jobs that produced results)">Results</th>
                <th className="num">Findings</th>
                <th className="num" title="findings accepted, edited or rejected">Decided</th>
                <th className="num">Accepted</th><th className="num">Edited</th><th className="num">Rejected</th>
                <th className="num" title="(accepted + edited) / decided, signed reports only">Agreement</th>
              </tr>
            </thead>
            <tbody>
              {apps.map((a) => (
                <tr key={`${a.app_id}@${a.app_version}`} data-app={a.app_id} data-version={a.app_version}>
                  <td><Link to={appPath(a.app_id)}>{a.app_id}</Link></td>
                  <td className="mono">{a.app_version}</td>
                  <td className="num">{a.results}</td>
                  <td className="num">{a.findings}</td>
                  <td className="num">{a.decided}</td>
                  <td className="num" title={`${a.accepted} accepted`}>{formatRate(a.accepted_rate)}</td>
                  <td className="num" title={`${a.edited} edited`}>{formatRate(a.edited_rate)}</td>
                  <td className="num" title={`${a.rejected} rejected`}>{formatRate(a.rejected_rate)}</td>
                  <td className="num"><b>{formatRate(a.agreement)}</b></td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="charts">
            <WeeklyChart id="chart-agreement" kind="line" title="Agreement with the signed reports, by week"
                         rows={agreement} series={series} yTitle="Agreement (%)" unit="%" nLabel="decided, report signed"
                         emptyText="No decided findings of signed reports in these weeks." />
            <WeeklyChart id="chart-acceptance" kind="line" title="Findings accepted unchanged, by week"
                         rows={acceptance} series={series} yTitle="Accepted (% of decided)" unit="%" nLabel="decided"
                         emptyText="No findings decided in these weeks." />
            <WeeklyChart id="chart-results" kind="bar" title="AI results per week"
                         rows={results} series={series} yTitle="Results (count)" unit="" nLabel="findings"
                         emptyText="No AI results in these weeks." />
          </div>
        </>
      )}
    </div>
  );
}
