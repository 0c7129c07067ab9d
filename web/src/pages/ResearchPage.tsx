// The research hub (researcher, administrator): build a cohort from metadata, AI findings
// and radiomics features with live counts (POST /api/v1/research/cohorts/preview, debounced),
// save it as a named, versioned cohort, and export a cohort de-identified (PS3.15 Annex E
// options, formats) with a progress bar (GET /api/v1/research/exports/{id}, polled) and a
// download when done. No identifiers appear here: counts, names and versions only.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import {
  DEID_OPTIONS, EXPORT_FORMATS, exportDownloadUrl, security,
  type Cohort, type Counts, type DeidOption, type DeidOptions, type ExportFormat, type ExportJob,
} from '../api/security';
import { useResource } from '../hooks/useResource';
import { debounce } from '../lib/debounce';
import { errorMessage } from '../lib/errors';
import { formatWhen } from '../lib/when';
import {
  DEFAULT_OPTIONS, EMPTY_FORM, FEATURE_SUGGESTIONS, SEVERITIES, criteriaOf, formOf, formProblem, percent,
  type CohortForm, type FeatureRow,
} from './research';

export const PREVIEW_DEBOUNCE_MS = 400;
export const POLL_MS = 1000;

const COUNT_KEYS: [keyof Counts, string][] = [
  ['patients', 'patients'], ['studies', 'studies'], ['series', 'series'], ['instances', 'instances'], ['lesions', 'lesions'],
];

function CountsLine({ counts, testid }: { counts: Counts | null | undefined; testid?: string }) {
  if (!counts) return <span className="muted">—</span>;
  return (
    <span className="counts" data-testid={testid}>
      {COUNT_KEYS.map(([k, label]) => (
        <span key={k} className="count-item"><b data-count={k}>{counts[k] ?? 0}</b> {label}</span>
      ))}
    </span>
  );
}

/** Live counts of the form's criteria: asked PREVIEW_DEBOUNCE_MS after the last change. */
function usePreview(form: CohortForm) {
  const [counts, setCounts] = useState<Counts | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const latest = useRef(form);
  latest.current = form;
  const ctl = useRef<AbortController | null>(null);
  const run = useMemo(() => debounce(() => {
    const f = latest.current;
    const problem = formProblem(f);
    if (problem) { setError(problem); setBusy(false); return; }
    ctl.current?.abort();
    const mine = new AbortController();
    ctl.current = mine;
    security.preview(criteriaOf(f), mine.signal).then((c) => {
      if (mine.signal.aborted) return;
      setCounts(c); setError(''); setBusy(false);
    }, (e) => {
      if (mine.signal.aborted) return;
      setError(errorMessage(e)); setBusy(false);
    });
  }, PREVIEW_DEBOUNCE_MS), []);
  useEffect(() => { setBusy(true); run.trigger(); }, [form, run]);
  useEffect(() => () => { run.cancel(); ctl.current?.abort(); }, [run]);
  return { counts, error, busy };
}

function FeatureRows({ rows, onChange }: { rows: FeatureRow[]; onChange: (rows: FeatureRow[]) => void }) {
  const set = (i: number, k: keyof FeatureRow, v: string) => onChange(rows.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  return (
    <div className="feature-rows">
      <datalist id="feature-names">{FEATURE_SUGGESTIONS.map((n) => <option key={n} value={n} />)}</datalist>
      {rows.map((r, i) => (
        <div className="feature-row" key={i} data-testid={`feature-${i}`}>
          <input list="feature-names" value={r.name} placeholder="feature (IBSI name)" aria-label="feature name" onChange={(e) => set(i, 'name', e.target.value)} />
          <input className="w-num" value={r.min} placeholder="min" aria-label="feature minimum" onChange={(e) => set(i, 'min', e.target.value)} />
          <input className="w-num" value={r.max} placeholder="max" aria-label="feature maximum" onChange={(e) => set(i, 'max', e.target.value)} />
          <button type="button" className="link" onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label="remove feature">×</button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { name: '', min: '', max: '' }])} data-testid="add-feature">+ Feature range</button>
    </div>
  );
}

function Builder({ form, setForm, onSaved }: { form: CohortForm; setForm: (f: CohortForm) => void; onSaved: (msg: string) => void }) {
  const preview = usePreview(form);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [saveError, setSaveError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof CohortForm) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const problem = formProblem(form);
    if (!name.trim()) { setSaveError('Name the cohort.'); return; }
    if (problem) { setSaveError(problem); return; }
    setBusy(true);
    setSaveError('');
    try {
      const saved = await security.saveCohort(name.trim(), criteriaOf(form), description.trim());
      onSaved(`Saved cohort ${saved.name} version ${saved.version} (${saved.counts?.studies ?? 0} studies).`);
    } catch (err) {
      setSaveError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel cohort-builder" onSubmit={save} data-testid="cohort-builder">
      <h3>Cohort</h3>
      <fieldset>
        <legend>Images</legend>
        <label>Modality <input value={form.modality} onChange={set('modality')} placeholder="CT, MR" data-testid="c-modality" /></label>
        <label>Body part <input value={form.body_part} onChange={set('body_part')} placeholder="CHEST" data-testid="c-body-part" /></label>
        <label>Study date from <input type="date" value={form.date_from} onChange={set('date_from')} data-testid="c-date-from" /></label>
        <label>to <input type="date" value={form.date_to} onChange={set('date_to')} data-testid="c-date-to" /></label>
        <label>Manufacturer <input value={form.manufacturer} onChange={set('manufacturer')} data-testid="c-manufacturer" /></label>
        <label>Model <input value={form.model} onChange={set('model')} data-testid="c-model" /></label>
      </fieldset>
      <fieldset>
        <legend>AI findings</legend>
        <label>Type <input value={form.finding_type} onChange={set('finding_type')} placeholder="nodule" data-testid="c-finding-type" /></label>
        <label>Size from <input className="w-num" value={form.min_size_mm} onChange={set('min_size_mm')} data-testid="c-min-size" /> mm</label>
        <label>to <input className="w-num" value={form.max_size_mm} onChange={set('max_size_mm')} data-testid="c-max-size" /> mm</label>
        <label>Severity
          <select value={form.severity} onChange={set('severity')} data-testid="c-severity">
            <option value="">any</option>
            {SEVERITIES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </fieldset>
      <fieldset>
        <legend>Radiomics features</legend>
        <FeatureRows rows={form.features} onChange={(features) => setForm({ ...form, features })} />
      </fieldset>
      <div className="preview" data-testid="preview" aria-live="polite">
        <span className="muted">Matches:</span> <CountsLine counts={preview.counts} testid="preview-counts" />
        {preview.busy && <span className="muted small"> updating…</span>}
        {preview.error && <span className="error" role="alert"> {preview.error}</span>}
      </div>
      <div className="form-actions">
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="cohort name" aria-label="cohort name" data-testid="cohort-name" />
        <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="description" aria-label="description" className="w-wide" />
        <button type="submit" className="primary" disabled={busy} data-testid="save-cohort">Save cohort</button>
        <button type="button" onClick={() => setForm(EMPTY_FORM)}>Clear</button>
        {saveError && <span className="error" role="alert" data-testid="save-error">{saveError}</span>}
      </div>
    </form>
  );
}

/** Polls one export until it is done or failed. */
function useExportJob(id: string | number | null) {
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (id === null) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ctl = new AbortController();
    const tick = async () => {
      try {
        const j = await security.exportJob(id, ctl.signal);
        if (stop) return;
        setJob(j);
        setError('');
        if (j.status === 'done' || j.status === 'failed') return;
      } catch (e) {
        if (stop) return;
        setError(errorMessage(e));
      }
      timer = setTimeout(tick, POLL_MS);
    };
    setJob(null);
    void tick();
    return () => { stop = true; ctl.abort(); if (timer) clearTimeout(timer); };
  }, [id]);
  return { job, error };
}

export function ExportProgress({ job }: { job: ExportJob }) {
  const pct = percent(job.done, job.total);
  return (
    <div className={`export-progress export-${job.status}`} data-testid="export-progress" data-status={job.status}>
      <progress max={100} value={pct ?? undefined} aria-label="export progress" />
      <span className="small">
        {job.status}{job.total ? ` · ${job.done} of ${job.total}` : ''}{pct !== null ? ` (${pct} %)` : ''}
      </span>
      {job.status === 'done' && (
        <a href={exportDownloadUrl(job.id)} download className="download" data-testid="export-download">Download (.tar)</a>
      )}
      {job.status === 'failed' && <span className="error" role="alert">{job.error || 'the export failed'}</span>}
    </div>
  );
}

function ExportPanel({ cohort, onChanged }: { cohort: Cohort; onChanged: () => void }) {
  const [options, setOptions] = useState<DeidOptions>(DEFAULT_OPTIONS);
  const [formats, setFormats] = useState<ExportFormat[]>(['dicom', 'nifti', 'csv']);
  const [id, setId] = useState<string | number | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const { job, error: pollError } = useExportJob(id);
  const finished = job !== null && (job.status === 'done' || job.status === 'failed');
  // The list of exports below shows the end too (once, when it comes).
  const changed = useRef(onChanged);
  changed.current = onChanged;
  useEffect(() => { if (finished) changed.current(); }, [finished]);
  const toggle = (k: DeidOption) => setOptions({ ...options, [k]: !options[k] });
  const toggleFormat = (f: ExportFormat) => setFormats(formats.includes(f) ? formats.filter((x) => x !== f) : [...formats, f]);
  const start = async () => {
    if (!formats.length) { setError('Choose at least one format.'); return; }
    setBusy(true);
    setError('');
    try {
      const r = await security.startExport({ cohort: cohort.name, version: cohort.version, options, formats });
      setId(r.id);
      onChanged();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="panel export-panel" data-testid="export-panel">
      <h3>Export {cohort.name} v{cohort.version}</h3>
      <fieldset>
        <legend>De-identification (PS3.15 Basic Profile, with the options ticked)</legend>
        {DEID_OPTIONS.map(([k, label]) => (
          <label key={k} className="check"><input type="checkbox" checked={options[k]} onChange={() => toggle(k)} data-testid={`opt-${k}`} /> {label}</label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Formats</legend>
        {EXPORT_FORMATS.map(([k, label]) => (
          <label key={k} className="check"><input type="checkbox" checked={formats.includes(k)} onChange={() => toggleFormat(k)} data-testid={`fmt-${k}`} /> {label}</label>
        ))}
      </fieldset>
      <div className="form-actions">
        <button type="button" className="primary" onClick={start} disabled={busy || (job !== null && job.status !== 'done' && job.status !== 'failed')} data-testid="start-export">Export</button>
        {error && <span className="error" role="alert">{error}</span>}
        {pollError && <span className="error">{pollError}</span>}
      </div>
      {id !== null && !job && <p className="muted">Starting…</p>}
      {job && <ExportProgress job={job} />}
    </div>
  );
}

export function ResearchPage() {
  const [form, setForm] = useState<CohortForm>(EMPTY_FORM);
  const [message, setMessage] = useState('');
  const [selected, setSelected] = useState<string>('');
  const [loadError, setLoadError] = useState('');
  const cohorts = useResource(() => security.cohorts(), []);
  const exports = useResource(() => security.exports(), []);
  const chosen = (cohorts.data ?? []).find((c) => c.name === selected) ?? null;
  const load = async (c: Cohort) => {
    setLoadError('');
    try {
      const d = await security.cohort(c.name, c.version);
      setForm(formOf(d.criteria ?? {}));
      setMessage(`Loaded the criteria of ${c.name} v${d.version}.`);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  };
  return (
    <div className="admin-page research-page">
      <div className="admin-head"><h2>Research</h2>
        <span className="muted small">De-identified exports only: no patient is named here.</span>
        {message && <span className="message message-info" data-testid="message">{message}</span>}
      </div>
      <Builder form={form} setForm={setForm} onSaved={(msg) => { setMessage(msg); void cohorts.reload(); }} />
      <div className="panel">
        <h3>Cohorts</h3>
        {(cohorts.error || loadError) && <p className="error" role="alert">{cohorts.error || loadError}</p>}
        <table className="grid" data-testid="cohorts">
          <thead><tr><th /><th>Name</th><th>Version</th><th>Description</th><th>Created by</th><th>Created</th><th>Counts</th><th /></tr></thead>
          <tbody>
            {(cohorts.data ?? []).map((c) => (
              <tr key={c.name} data-cohort={c.name} className={selected === c.name ? 'selected' : ''}>
                <td><input type="radio" name="cohort" checked={selected === c.name} onChange={() => setSelected(c.name)} aria-label={`choose ${c.name}`} data-testid={`choose-${c.name}`} /></td>
                <td>{c.name}</td>
                <td className="num">v{c.version}</td>
                <td>{c.description}</td>
                <td>{c.created_by}</td>
                <td className="c-date">{formatWhen(c.created_at)}</td>
                <td><CountsLine counts={c.counts} /></td>
                <td><button type="button" className="link" onClick={() => load(c)}>Edit criteria</button></td>
              </tr>
            ))}
            {cohorts.data && cohorts.data.length === 0 && <tr><td colSpan={8} className="empty">No cohorts yet: build one above and save it.</td></tr>}
          </tbody>
        </table>
      </div>
      {chosen && <ExportPanel key={`${chosen.name}@${chosen.version}`} cohort={chosen} onChanged={() => void exports.reload()} />}
      {(exports.data ?? []).length > 0 && (
        <div className="panel">
          <h3>Exports</h3>
          <table className="grid" data-testid="exports">
            <thead><tr><th>Id</th><th>Cohort</th><th>Status</th><th>Progress</th><th /></tr></thead>
            <tbody>
              {(exports.data ?? []).map((j) => (
                <tr key={String(j.id)}>
                  <td className="mono">{String(j.id)}</td>
                  <td>{j.cohort} v{j.version}</td>
                  <td>{j.status}{j.error && <span className="error"> {j.error}</span>}</td>
                  <td>{j.total ? `${j.done} of ${j.total}` : ''}</td>
                  <td>{j.status === 'done' && <a href={exportDownloadUrl(j.id)} download>Download</a>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
