// The app library (GET /api/v1/apps, GET /api/v1/apps/{id}): every installed AI app with its
// manifest, versions, runner, the series it takes (its rules), state, pinned version, jobs
// with their timings and its performance; an administrator enables, disables, pins and
// unpins a version here, and the audit list shows every change and who made it.
import { useEffect, useRef, useState } from 'react';
import {
  admin, type App, type AppAuditEntry, type AppDetail, type AppPerformance, type AppRule,
} from '../api/admin';
import { compareVersions, formatRate } from '../components/charts/series';
import { useResource } from '../hooks/useResource';
import { errorMessage } from '../lib/errors';
import { formatDuration, formatTimestamp } from '../lib/format';
import { FOCUS_READER_EVENT, getReader } from '../lib/reader';
import { useIsAdministrator } from '../auth/identity';
import { appPath, Link, readPath } from '../router';

/** A selection rule as a sentence fragment: "Modality = CT", "BodyPartExamined ∈ {CHEST, LUNG}". */
export function formatRule(r: AppRule): string {
  if (r.equals !== undefined) return `${r.attribute} = ${r.equals}`;
  if (r.in !== undefined) return `${r.attribute} ∈ {${r.in.join(', ')}}`;
  if (r.regex !== undefined) return `${r.attribute} matches /${r.regex}/`;
  if (r.range !== undefined) {
    const { min, max } = r.range;
    if (min !== undefined && max !== undefined) return `${min} ≤ ${r.attribute} ≤ ${max}`;
    if (min !== undefined) return `${r.attribute} ≥ ${min}`;
    if (max !== undefined) return `${r.attribute} ≤ ${max}`;
  }
  return r.attribute;
}

/** Installed versions, newest first (the list's `versions`, else the one version). */
export function appVersions(a: Pick<App, 'versions' | 'version'>): string[] {
  const v = a.versions?.length ? a.versions : [a.version];
  return [...new Set(v.filter(Boolean))].sort((x, y) => compareVersions(y, x));
}

/** A duration in ms for the timings: "850 ms", "12.3 s", "2 min". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

const ACTIONS: Record<string, string> = {
  enable: 'enabled', disable: 'disabled', pin: 'pinned', unpin: 'unpinned',
};

/** "dr.admin pinned 1.0.0 — note" */
export function auditLine(e: AppAuditEntry): string {
  const verb = ACTIONS[e.action] ?? e.action;
  return [e.actor || 'someone', verb, e.version].filter(Boolean).join(' ') + (e.note ? ` — ${e.note}` : '');
}

type PerfRow = Partial<AppPerformance>;

/** The performance summary of an app detail as rows per version, whatever shape it came in. */
export function performanceRows(p: AppDetail['performance']): PerfRow[] {
  if (!p) return [];
  if (Array.isArray(p)) return p as PerfRow[];
  const o = p as Record<string, unknown>;
  for (const k of ['versions', 'apps', 'by_version']) if (Array.isArray(o[k])) return o[k] as PerfRow[];
  return [o as PerfRow];
}

function ManifestFacts({ a }: { a: AppDetail }) {
  const m = (a.manifest ?? {}) as Record<string, unknown>;
  const res = (a.resources ?? (m.resources as App['resources'])) ?? {};
  return (
    <dl className="facts">
      <dt>Vendor</dt><dd>{a.vendor || String(m.vendor ?? '') || '—'}</dd>
      <dt>Intended use</dt><dd>{a.intended_use || String(m.intended_use ?? '') || '—'}</dd>
      <dt>Runner</dt><dd className="mono">{a.runner}</dd>
      <dt>Outputs</dt><dd>{(a.outputs ?? []).join(', ') || '—'}</dd>
      <dt>Limits</dt>
      <dd>timeout {a.timeout_s ?? '—'} s · {a.max_attempts ?? '—'} attempt{a.max_attempts === 1 ? '' : 's'} · priority {String(a.priority ?? '—')}
        {res.threads ? ` · ${res.threads} thread${res.threads === 1 ? '' : 's'}` : ''}{res.memory_mb ? ` · ${res.memory_mb} MB` : ''}{res.gpu ? ' · GPU' : ''}</dd>
      {a.source && <><dt>Manifest</dt><dd className="mono">{a.source}</dd></>}
    </dl>
  );
}

function AppCard({ summary, open, onChanged }: { summary: App; open: boolean; onChanged: () => void }) {
  const detail = useResource(() => admin.app(summary.id), [summary.id]);
  // Enabling, disabling and pinning are the administrator's (docs/access-control.md).
  const isAdministrator = useIsAdministrator();
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ kind: 'info' | 'error'; text: string } | null>(null);
  const a: AppDetail = { ...summary, ...(detail.data ?? {}) };
  const versions = appVersions(a);
  const running = a.running_version || a.version;
  const pinned = a.pinned_version ?? null;
  const [pinChoice, setPinChoice] = useState('');
  const ref = useRef<HTMLElement>(null);
  useEffect(() => { if (open) ref.current?.scrollIntoView?.({ block: 'start' }); }, [open]);

  const act = async (what: 'enable' | 'disable' | 'pin' | 'unpin', version = '') => {
    if (!getReader()) {
      setMsg({ kind: 'error', text: 'Enter your name (top right) first: every change is recorded with it.' });
      window.dispatchEvent(new Event(FOCUS_READER_EVENT));
      return;
    }
    setBusy(true);
    try {
      if (what === 'enable') await admin.enableApp(a.id);
      if (what === 'disable') await admin.disableApp(a.id);
      if (what === 'pin') await admin.pinApp(a.id, version);
      if (what === 'unpin') await admin.unpinApp(a.id);
      setMsg({ kind: 'info', text: `${a.name || a.id}: ${ACTIONS[what]}${version ? ` ${version}` : ''}.` });
      await detail.reload();
      onChanged();
    } catch (e) {
      setMsg({ kind: 'error', text: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

  const jobs = a.jobs;
  const perf = performanceRows(a.performance)
    .sort((x, y) => compareVersions(String(y.app_version ?? ''), String(x.app_version ?? '')));
  const audit = a.audit ?? [];
  const choice = pinChoice || versions.find((v) => v !== pinned) || versions[0] || '';
  return (
    <article ref={ref} className={`panel app-card${open ? ' open' : ''}${a.enabled ? '' : ' disabled'}`}
             data-testid={`app-${a.id}`} data-app-id={a.id}>
      <header className="app-head">
        <h3 className="app-name"><Link to={appPath(a.id)}>{a.name || a.id}</Link></h3>
        <span className="mono muted">{a.id}</span>
        <span className={`state app-state ${a.enabled ? 'app-enabled' : 'app-disabled'}`} data-testid="app-state">
          {a.enabled ? 'enabled' : 'disabled'}
        </span>
        <span>running <b className="mono" data-testid="running-version">{running}</b></span>
        {pinned
          ? <span className="tag pinned" data-testid="pinned">pinned {pinned}</span>
          : <span className="muted" data-testid="pinned">newest runs (not pinned)</span>}
        <span className="spacer" />
        {isAdministrator && <div className="actions">
          {a.enabled
            ? <button type="button" disabled={busy} onClick={() => void act('disable')}>Disable</button>
            : <button type="button" className="primary" disabled={busy} onClick={() => void act('enable')}>Enable</button>}
          <label className="inline">Version
            <select aria-label={`version to pin for ${a.id}`} value={choice} onChange={(e) => setPinChoice(e.target.value)}>
              {versions.map((v) => <option key={v} value={v}>{v}{v === pinned ? ' (pinned)' : ''}</option>)}
            </select>
          </label>
          <button type="button" disabled={busy || !choice || choice === pinned} onClick={() => void act('pin', choice)}>Pin</button>
          <button type="button" disabled={busy || !pinned} onClick={() => void act('unpin')}>Unpin</button>
        </div>}
      </header>
      {msg && <div className={`message message-${msg.kind}`} role={msg.kind === 'error' ? 'alert' : 'status'}>{msg.text}</div>}
      {detail.error && <p className="muted small">Details unavailable: {detail.error}</p>}
      <div className="app-columns">
        <section className="app-section">
          <h4>Manifest</h4>
          <ManifestFacts a={a} />
        </section>
        <section className="app-section">
          <h4>Series it takes</h4>
          {(a.rules ?? []).length === 0
            ? <p className="muted">every series</p>
            : <ul className="rules">{a.rules.map((r, i) => <li key={i} className="mono">{formatRule(r)}</li>)}</ul>}
          <h4>Installed versions</h4>
          <ul className="versions" data-testid="versions">
            {versions.map((v) => (
              <li key={v}>
                <span className="mono">{v}</span>
                {v === versions[0] && versions.length > 1 && <span className="tag">newest</span>}
                {v === running && <span className="tag">running</span>}
                {v === pinned && <span className="tag pinned">pinned</span>}
              </li>
            ))}
          </ul>
        </section>
        <section className="app-section">
          <h4>Jobs</h4>
          {!jobs ? <p className="muted">—</p> : (
            <>
              <p className="job-states">
                {Object.entries(jobs.by_state ?? {}).filter(([, n]) => n > 0).map(([s, n]) => (
                  <span key={s} className={`jstate-${s}`}>{s} {n}</span>
                ))}
                {!Object.values(jobs.by_state ?? {}).some((n) => n > 0) && <span className="muted">no jobs yet</span>}
              </p>
              <dl className="facts" data-testid="timings">
                <dt title="time inside the app (its own run)">App time</dt>
                <dd>median {formatMs(jobs.median_app_ms)} · p95 {formatMs(jobs.p95_app_ms)}</dd>
                <dt title="from queued to finished">Total</dt>
                <dd>median {formatMs(jobs.median_total_ms)}{jobs.p95_total_ms !== undefined ? ` · p95 ${formatMs(jobs.p95_total_ms)}` : ''}</dd>
              </dl>
            </>
          )}
        </section>
        <section className="app-section">
          <h4>Performance</h4>
          {perf.length === 0 ? <p className="muted">no results yet</p> : (
            <table className="grid small" data-testid="app-performance">
              <thead><tr><th>Version</th><th className="num">Results</th><th className="num">Decided</th>
                <th className="num">Accepted</th><th className="num">Rejected</th><th className="num">Agreement</th></tr></thead>
              <tbody>
                {perf.map((p, i) => (
                  <tr key={p.app_version ?? i}>
                    <td className="mono">{p.app_version ?? '—'}</td>
                    <td className="num">{p.results ?? '—'}</td>
                    <td className="num">{p.decided ?? '—'}</td>
                    <td className="num">{formatRate(p.accepted_rate)}</td>
                    <td className="num">{formatRate(p.rejected_rate)}</td>
                    <td className="num">{formatRate(p.agreement)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p className="small"><Link to={`/performance?app_id=${encodeURIComponent(a.id)}`}>weekly trend →</Link></p>
        </section>
      </div>
      {open && jobs?.recent && jobs.recent.length > 0 && (
        <section className="app-section">
          <h4>Recent jobs</h4>
          <table className="grid small">
            <thead><tr><th>Job</th><th>Version</th><th>State</th><th>Study</th><th className="num">Duration</th><th>Finished</th><th>Summary</th></tr></thead>
            <tbody>
              {jobs.recent.slice(0, 20).map((j) => (
                <tr key={j.id}>
                  <td className="num">{j.id}</td><td className="mono">{j.app_version}</td>
                  <td className={`jstate-${j.state}`}>{j.state}</td>
                  <td><Link to={readPath(j.study_uid)} className="mono">{j.study_uid.slice(-12)}</Link></td>
                  <td className="num">{formatMs(j.duration_ms)}</td>
                  <td>{formatTimestamp(j.finished_at)}</td>
                  <td className="details">{j.error || j.summary}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="app-section">
        <h4>Changes</h4>
        {audit.length === 0 ? <p className="muted small">no changes recorded</p> : (
          <ol className="audit" data-testid="audit">
            {(open ? audit : audit.slice(0, 5)).map((e, i) => (
              <li key={`${e.at}-${i}`} data-action={e.action}>
                <span className="muted">{formatTimestamp(e.at)}</span> {auditLine(e)}
              </li>
            ))}
          </ol>
        )}
      </section>
    </article>
  );
}

export function AppsPage({ selected }: { selected?: string }) {
  const list = useResource(() => admin.apps(), []);
  const apps = [...(list.data?.apps ?? [])].sort((x, y) => (x.name || x.id).localeCompare(y.name || y.id));
  return (
    <div className="admin-page apps-page" data-testid="apps-page">
      <div className="admin-head">
        <h2>AI apps</h2>
        <span className="count">{list.data ? `${apps.length} installed` : ''}</span>
        <button type="button" onClick={() => void list.reload()}>Refresh</button>
        {selected && <Link to="/apps">all apps</Link>}
      </div>
      {list.error && <div className="message message-error" role="alert">{list.error}</div>}
      {!list.data && !list.error && <p className="muted">Loading…</p>}
      {list.data && apps.length === 0 && <p className="muted">No apps installed.</p>}
      {apps.filter((a) => !selected || a.id === selected).map((a) => (
        <AppCard key={a.id} summary={a} open={a.id === selected} onChanged={() => void list.reload()} />
      ))}
      {selected && list.data && !apps.some((a) => a.id === selected) && (
        <p className="message message-error" role="alert">No app {selected}.</p>
      )}
    </div>
  );
}
