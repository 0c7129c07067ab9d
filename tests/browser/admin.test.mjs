// Browser test: the app library, AI performance and follow-up pages of the web app (web/dist
// at /) in Debian's Chromium, against a real radflow.
//
// Starts `radflow serve` on free ports with a fresh data directory and, as its only app,
// the engine's self-test app `test-threshold` (RADFLOW_ENABLE_TEST_APPS=1, the shipped
// clinical apps replaced by an empty folder) installed in two versions, 1.0.0 and 1.1.0
// (one --apps folder each). Then, as dr.admin in the browser:
//   1. Apps (/apps): the card of test-threshold shows its manifest, both versions, the
//      series it takes, enabled, "newest runs (not pinned)", and the job of the IBSI lung CT
//      (PAT1, stored through DICOM) run by the newest version 1.1.0 with its timings;
//   2. Pin 1.0.0 in the page: the card says "pinned 1.0.0", the audit list shows
//      "dr.admin pinned 1.0.0", GET /api/v1/apps/{id} agrees; a copy of the CT as another
//      patient (new UIDs) is then run by 1.0.0; Unpin, Disable and Enable in the page, each
//      seen in the audit list and in the REST answer;
//   3. decisions on the findings of both studies (POST /api/v1/findings/{id}/decision:
//      1.1.0's accepted, 1.0.0's rejected) and a signed report of each study; the AI
//      performance page (/performance) shows one row per version with those rates and the
//      three plots (agreement and acceptance in %, results per week), with a tooltip on
//      hover; a second screenshot shows the same page over 12 synthetic weeks (the API
//      answer replaced in the browser by page.route, so that a person can judge the plots'
//      readability with more than this run's single week: performance-12-weeks.png);
//   4. an external report of PAT1 dated 2024-01-10 recommending a CT of the chest in
//      3 months (POST /api/v1/reports/external) gives an overdue follow-up: the Follow-ups
//      page (/followups) lists it with the recommended exam, the interval, the due date and
//      the days overdue; closing it in the page with a reason moves it to Closed (REST agrees);
//   5. GET /api/v1/findings/{id}/similar of the copy's finding: other patients only, or (the
//      test app's findings have no outlined size) a 400 that says it is not a lesion.
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): apps.png (pinned),
// apps-audit.png (after unpin, disable, enable),
// performance.png, performance-tooltip.png, performance-12-weeks.png, followups.png.
//
// Run: node tests/browser/admin.test.mjs (ctest: browser.admin). Needs `make setup`
// (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, REPO, WEB_DIR, checkPrerequisites, dicomFiles, launchChromium, log, run, sleep,
  signInContext, startRadflow, stopServer, storeFiles, studyUidOf, tokenFor,
} from './lib.mjs';

const CT_DIR = path.join(DATA, 'dicom', 'ct_lung_ibsi_pat1', 'dicom', 'image');
const APP_MANIFEST = path.join(REPO, 'tests', 'fixtures', 'engine_apps_bench', 'test-threshold.json');
const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const APP = 'test-threshold';
const ADMIN = 'dr.admin';
const TEST_TIMEOUT_MS = 240_000;
const UI_MS = 10_000;

function uuidUid() {
  const hex = randomUUID().replace(/-/g, '');
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

async function api(base, method, route, body, reader = ADMIN) {
  const res = await fetch(`${base}${route}`, {
    method, headers: { 'Content-Type': 'application/json', 'X-Radflow-Reader': reader },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function waitFor(what, fn, timeoutMs, intervalMs = 200) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 600)})`);
    await sleep(intervalMs);
  }
}

const list = (r, key) => (Array.isArray(r) ? r : r?.[key] ?? []);
// An audit action as a verb: radflow may record "pin" or "pinned".
const VERB = { pinned: 'pin', unpinned: 'unpin', enabled: 'enable', disabled: 'disable' };
const verb = (action) => VERB[action] ?? action;

// The test app's job of a study once it has finished.
async function finishedJob(base, studyUid, timeoutMs) {
  return waitFor(`${APP} job of ${studyUid} finished`, async () => {
    const r = await api(base, 'GET', `/api/v1/jobs?study=${studyUid}&limit=50`);
    const jobs = list(r.json, 'jobs').filter((j) => j.app_id === APP);
    return jobs.find((j) => ['succeeded', 'failed', 'cancelled'].includes(j.state));
  }, timeoutMs);
}

// A copy of the series as another patient: new study, series and instance UIDs.
async function copyAsOtherPatient(files, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const copies = files.map((f) => {
    const to = path.join(outDir, path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
  const studyUid = uuidUid();
  await run('dcmodify', ['-nb', '-gin',
    '-i', `StudyInstanceUID=${studyUid}`, '-i', `SeriesInstanceUID=${uuidUid()}`,
    '-i', 'PatientID=ADMIN-COPY', '-i', 'PatientName=Copy^Pat', '-i', 'StudyDate=20250301',
    '-i', 'AccessionNumber=ADM2', ...copies]);
  assert.equal(studyUidOf(copies[0]), studyUid);
  return { files: copies, studyUid };
}

// A final signed report of the study: draft, autosave with an impression, sign with every
// QA issue acknowledged.
async function signReport(base, studyUid, impression) {
  const created = await api(base, 'POST', `/api/v1/studies/${studyUid}/reports`, {});
  assert.ok(created.status === 201 || created.status === 200, `POST reports of ${studyUid}: ${created.status} ${created.text}`);
  const rep = created.json;
  const saved = await api(base, 'PUT', `/api/v1/reports/${rep.id}`, {
    revision: rep.revision, content: rep.content ?? {}, findings_text: rep.findings_text || 'Dense structures as marked by AI.',
    impression_text: impression, critical_communicated: '',
  });
  assert.equal(saved.status, 200, `PUT report ${rep.id}: ${saved.text}`);
  let signed = await api(base, 'POST', `/api/v1/reports/${rep.id}/sign`, { status: 'final', acknowledged: [] });
  if (signed.status === 409 && Array.isArray(signed.json?.issues)) {
    signed = await api(base, 'POST', `/api/v1/reports/${rep.id}/sign`,
      { status: 'final', acknowledged: signed.json.issues.map((i) => i.id) });
  }
  assert.equal(signed.status, 200, `sign report ${rep.id}: ${signed.text}`);
  assert.equal(signed.json.status, 'final');
  return signed.json;
}

// Watches a page: failed API answers (minus the expected ones) and page errors.
function watch(page, expected = () => false) {
  const seen = { failures: [], pageErrors: [] };
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/') || res.status() < 400) return;
    const entry = { status: res.status(), method: res.request().method(), url: url.pathname + url.search };
    if (!expected(entry)) seen.failures.push(entry);
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err && err.stack || err).slice(0, 800)));
  return seen;
}

// Twelve weeks of two versions, for the readability screenshot only (not radflow's data).
function syntheticPerformance() {
  const weeks = (n, offset, rate, seed) => Array.from({ length: n }, (_, i) => {
    const k = i + offset;
    const start = new Date(Date.UTC(2026, 8, 7 + 7 * k)).toISOString().slice(0, 10);
    const results = 8 + ((k * seed) % 7);
    const decided = results;
    const accepted = Math.round(decided * Math.min(0.95, rate + 0.05 * Math.sin(k * seed)));
    const rejected = Math.round((decided - accepted) / 2);
    return { week: `2026-W${37 + k}`, start, results, findings: results, accepted, edited: decided - accepted - rejected,
             rejected, agreement: (decided - rejected) / decided };
  });
  const app = (version, w) => {
    const sum = (k) => w.reduce((t, x) => t + x[k], 0);
    const decided = sum('accepted') + sum('edited') + sum('rejected');
    return { app_id: APP, app_version: version, results: sum('results'), findings: sum('findings'), decided,
             accepted: sum('accepted'), edited: sum('edited'), rejected: sum('rejected'),
             accepted_rate: sum('accepted') / decided, edited_rate: sum('edited') / decided,
             rejected_rate: sum('rejected') / decided, agreement: (decided - sum('rejected')) / decided, weeks: w };
  };
  return { apps: [app('1.1.0', weeks(6, 6, 0.8, 5)), app('1.0.0', weeks(7, 0, 0.6, 3))] };
}

test('apps, AI performance and follow-ups pages against radflow', { timeout: TEST_TIMEOUT_MS + 30_000 }, async () => {
  checkPrerequisites([CT_DIR], [
    [path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist'],
    [APP_MANIFEST, 'the test app manifest'],
  ]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-admin-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const serverLog = path.join(tmp, 'radflow.log');
  const emptyApps = path.join(tmp, 'no-clinical-apps');
  fs.mkdirSync(emptyApps);
  const manifest = JSON.parse(fs.readFileSync(APP_MANIFEST, 'utf8'));
  const appFolders = ['1.0.0', '1.1.0'].map((version) => {
    const dir = path.join(tmp, `apps-${version}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, `${APP}.json`), JSON.stringify({ ...manifest, version }, null, 2));
    return dir;
  });
  let server = null;
  let context = null;
  let page = null;
  let passed = false;
  let seen = null;

  try {
    const started = await startRadflow({
      dataDir: path.join(tmp, 'data'), logFile: serverLog, auth: true,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--stable-seconds', '1',
             ...appFolders.flatMap((d) => ['--apps', d])],
      env: { RADFLOW_ENABLE_TEST_APPS: '1', RADFLOW_APPS_DIR: emptyApps },
    });
    server = started.server;
    const { base, dicomPort } = started;
    log(`radflow up on ${base} (DICOM port ${dicomPort})`);

    const apps = await api(base, 'GET', '/api/v1/apps');
    const listed = list(apps.json, 'apps').find((a) => a.id === APP);
    assert.ok(listed, `${APP} installed: ${apps.text.slice(0, 600)}`);
    assert.deepEqual([...(listed.versions ?? [])].sort(), ['1.0.0', '1.1.0'], `both versions installed: ${JSON.stringify(listed)}`);
    assert.equal(listed.running_version, '1.1.0', 'the newest runs');

    // --- the CT of PAT1, run by 1.1.0 ---------------------------------------------------------
    const files = dicomFiles(CT_DIR);
    const study1 = studyUidOf(files[0]);
    await storeFiles(dicomPort, files);
    const job1 = await finishedJob(base, study1, 60_000);
    assert.equal(job1.state, 'succeeded', `job of study 1: ${JSON.stringify(job1)}`);
    assert.equal(job1.app_version, '1.1.0', 'study 1 run by the newest version');
    log(`job ${job1.id} (${job1.app_version}) of ${study1}: ${job1.summary}`);

    // --- 1. the Apps page ----------------------------------------------------------------------
    context = await launchChromium(path.join(tmp, 'profile'), { width: 1600, height: 1000 });
    page = context.pages()[0] || await context.newPage();
    seen = watch(page);
    tokenFor(base, ADMIN, 'administrator');  // pins are an administrator's (docs/access-control.md)
    await signInContext(context, base, ADMIN);
    await page.goto(`${base}/apps`, { waitUntil: 'domcontentloaded' });
    const card = page.getByTestId(`app-${APP}`);
    await card.waitFor({ timeout: UI_MS });
    await waitFor('job timings on the card', async () => /median \d/.test(await card.getByTestId('timings').innerText()), UI_MS);
    const cardText = await card.innerText();
    for (const s of ['Engine self-test', 'builtin:test-threshold', 'Modality = CT', '1.0.0', '1.1.0', 'enabled',
                     'newest runs (not pinned)', 'succeeded 1']) {
      assert.ok(cardText.includes(s), `"${s}" on the app card:\n${cardText}`);
    }
    assert.equal((await card.getByTestId('running-version').innerText()).trim(), '1.1.0');

    // --- 2. pin 1.0.0 ----------------------------------------------------------------------------
    await card.getByRole('combobox', { name: `version to pin for ${APP}` }).selectOption('1.0.0');
    await card.getByRole('button', { name: 'Pin', exact: true }).click();
    await waitFor('card says pinned 1.0.0', async () => (await card.getByTestId('pinned').innerText()).trim() === 'pinned 1.0.0', UI_MS);
    await waitFor('audit line of the pin', async () => /dr\.admin pinned 1\.0\.0/.test(await card.getByTestId('audit').innerText()), UI_MS);
    let detail = await api(base, 'GET', `/api/v1/apps/${APP}`);
    assert.equal(detail.status, 200, detail.text);
    assert.equal(detail.json.pinned_version, '1.0.0');
    assert.equal(detail.json.running_version, '1.0.0');
    assert.ok(detail.json.audit.some((e) => verb(e.action) === 'pin' && e.actor === ADMIN && e.version === '1.0.0'),
      `audit: ${JSON.stringify(detail.json.audit)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'apps.png'), fullPage: true });

    const copy = await copyAsOtherPatient(files, path.join(tmp, 'copy'));
    await storeFiles(dicomPort, copy.files);
    const job2 = await finishedJob(base, copy.studyUid, 60_000);
    assert.equal(job2.state, 'succeeded', `job of the copy: ${JSON.stringify(job2)}`);
    assert.equal(job2.app_version, '1.0.0', 'the pinned version ran the copy');
    log(`job ${job2.id} (${job2.app_version}) of the copy ${copy.studyUid}`);

    await card.getByRole('button', { name: 'Unpin', exact: true }).click();
    await waitFor('audit line of the unpin', async () => /dr\.admin unpinned/.test(await card.getByTestId('audit').innerText()), UI_MS);
    assert.match(await card.getByTestId('pinned').innerText(), /not pinned/);
    await card.getByRole('button', { name: 'Disable', exact: true }).click();
    await waitFor('card disabled', async () => (await card.getByTestId('app-state').innerText()).trim() === 'disabled', UI_MS);
    await waitFor('audit line of the disable', async () => /dr\.admin disabled/.test(await card.getByTestId('audit').innerText()), UI_MS);
    assert.equal((await api(base, 'GET', `/api/v1/apps/${APP}`)).json.enabled, false);
    await card.getByRole('button', { name: 'Enable', exact: true }).click();
    await waitFor('card enabled', async () => (await card.getByTestId('app-state').innerText()).trim() === 'enabled', UI_MS);
    await waitFor('audit line of the enable', async () => /dr\.admin enabled/.test(await card.getByTestId('audit').innerText()), UI_MS);
    await page.screenshot({ path: path.join(ARTIFACTS, 'apps-audit.png'), fullPage: true });
    detail = await api(base, 'GET', `/api/v1/apps/${APP}`);
    assert.equal(detail.json.enabled, true);
    assert.equal(detail.json.pinned_version ?? null, null);
    assert.deepEqual(detail.json.audit.map((e) => verb(e.action)).filter((a) => ['pin', 'unpin', 'disable', 'enable'].includes(a)).sort(),
      ['disable', 'enable', 'pin', 'unpin'], `audit: ${JSON.stringify(detail.json.audit)}`);

    // --- 3. decisions, signed reports, the performance page ------------------------------------
    const findings1 = list((await api(base, 'GET', `/api/v1/studies/${study1}/findings`)).json, 'findings');
    const findings2 = list((await api(base, 'GET', `/api/v1/studies/${copy.studyUid}/findings`)).json, 'findings');
    assert.ok(findings1.length > 0 && findings2.length > 0, `findings: ${findings1.length} and ${findings2.length}`);
    for (const f of findings1) {
      const d = await api(base, 'POST', `/api/v1/findings/${f.id}/decision`, { decision: 'accepted' });
      assert.equal(d.status, 201, `accept finding ${f.id}: ${d.text}`);
    }
    for (const f of findings2) {
      const d = await api(base, 'POST', `/api/v1/findings/${f.id}/decision`, { decision: 'rejected', reason: 'not a lesion' });
      assert.equal(d.status, 201, `reject finding ${f.id}: ${d.text}`);
    }
    await signReport(base, study1, 'Dense structures as found by the AI.');
    await signReport(base, copy.studyUid, 'No abnormality; the AI marking is not a lesion.');
    const perf = await api(base, 'GET', `/api/v1/ai/performance?app_id=${APP}`);
    assert.equal(perf.status, 200, perf.text);
    const byVersion = Object.fromEntries(list(perf.json, 'apps').map((a) => [a.app_version, a]));
    log(`performance: ${JSON.stringify(perf.json).slice(0, 800)}`);
    assert.equal(byVersion['1.1.0']?.accepted, findings1.length);
    assert.equal(byVersion['1.1.0']?.agreement, 1);
    assert.equal(byVersion['1.0.0']?.rejected, findings2.length);
    assert.equal(byVersion['1.0.0']?.agreement, 0);

    await page.goto(`${base}/performance`, { waitUntil: 'domcontentloaded' });
    const table = page.getByTestId('perf-table');
    await table.waitFor({ timeout: UI_MS });
    const row = (v) => table.locator(`tbody tr[data-app="${APP}"][data-version="${v}"]`);
    assert.match(await row('1.1.0').innerText(), /100\.0 %/);
    assert.match(await row('1.0.0').innerText(), /0\.0 %/);
    for (const id of ['chart-agreement', 'chart-acceptance', 'chart-results']) {
      const fig = page.getByTestId(id);
      await fig.locator('svg.recharts-surface[role="application"]').waitFor({ timeout: UI_MS });
      const text = await fig.innerText();
      assert.match(text, /ISO week \d{4}/, `${id}: x axis title`);
      assert.match(text, /W\d{1,2}/, `${id}: week label`);
      assert.ok(text.includes(`${APP} 1.1.0`) && text.includes(`${APP} 1.0.0`), `${id}: legend:\n${text}`);
    }
    assert.match(await page.getByTestId('chart-agreement').innerText(), /Agreement \(%\)/);
    assert.match(await page.getByTestId('chart-results').innerText(), /Results \(count\)/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'performance.png'), fullPage: true });
    // Hover the last week (this run's decisions), right of the plot's middle.
    const dot = await page.getByTestId('chart-agreement').locator('.recharts-line-dots circle').last().boundingBox();
    assert.ok(dot, 'a dot of this week on the agreement plot');
    await page.mouse.move(dot.x + dot.width / 2, dot.y + dot.height / 2);
    await page.locator('.chart-tooltip').waitFor({ timeout: UI_MS });
    assert.match(await page.locator('.chart-tooltip').innerText(), /week of/);
    await page.getByTestId('chart-agreement').screenshot({ path: path.join(ARTIFACTS, 'performance-tooltip.png') });

    // The same page over twelve synthetic weeks, for a person to judge the plots.
    await page.route('**/api/v1/ai/performance*', (route) => route.fulfill({
      status: 200, contentType: 'application/json', body: JSON.stringify(syntheticPerformance()) }));
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.getByTestId('chart-results').locator('svg.recharts-surface[role="application"]').waitFor({ timeout: UI_MS });
    await page.screenshot({ path: path.join(ARTIFACTS, 'performance-12-weeks.png'), fullPage: true });
    await page.unroute('**/api/v1/ai/performance*');

    // --- 4. an overdue follow-up from an external report --------------------------------------
    const patientId = (await api(base, 'GET', `/api/v1/worklist/${study1}`)).json?.patient_id || '1';
    const ext = await api(base, 'POST', '/api/v1/reports/external', {
      patient_id: patientId, status: 'final', author: 'Dr Outside', observed_at: '20240110090000',
      text: 'FINDINGS: 7 mm solid nodule in the right upper lobe.\nIMPRESSION: Pulmonary nodule. ' +
            'Recommend follow-up CT of the chest in 3 months.',
    });
    assert.equal(ext.status, 201, `external report: ${ext.text}`);
    const overdue = await waitFor('overdue follow-up by REST', async () => {
      const r = await api(base, 'GET', `/api/v1/followups?state=overdue&patient_id=${encodeURIComponent(patientId)}`);
      return list(r.json, 'followups').find((f) => f.report_id === ext.json.id);
    }, UI_MS);
    log(`follow-up ${overdue.id}: ${overdue.modality} ${overdue.body_region} due ${overdue.due_date}`);
    await page.goto(`${base}/followups`, { waitUntil: 'domcontentloaded' });
    const fuRow = page.locator(`tbody tr[data-followup-id="${overdue.id}"]`);
    await fuRow.waitFor({ timeout: UI_MS });
    const fuText = await fuRow.innerText();
    for (const s of ['CT chest', '3 months', overdue.due_date, 'overdue', 'Recommend follow-up CT of the chest in 3 months']) {
      assert.ok(fuText.includes(s), `"${s}" in the follow-up row:\n${fuText}`);
    }
    assert.match(fuText, /\d+ d/, 'days overdue');
    await page.screenshot({ path: path.join(ARTIFACTS, 'followups.png'), fullPage: true });
    await page.getByTestId(`close-${overdue.id}`).click();
    await page.getByTestId(`close-reason-${overdue.id}`).fill('performed at another hospital');
    await fuRow.getByRole('button', { name: 'Close', exact: true }).click();
    await fuRow.waitFor({ state: 'detached', timeout: UI_MS });
    const closed = await api(base, 'GET', `/api/v1/followups/${overdue.id}`);
    assert.equal(closed.json.state, 'closed');
    assert.equal(closed.json.closed_reason, 'performed at another hospital');
    assert.equal(closed.json.closed_by, ADMIN);
    await page.getByRole('button', { name: 'Closed', exact: true }).click();
    await fuRow.waitFor({ timeout: UI_MS });
    assert.match(await fuRow.innerText(), /performed at another hospital — dr\.admin/);

    // --- 5. similar cases: the test app's findings are volumes without an outline size, so
    // radflow refuses them with a 400 naming why (the lesion search itself is tested by
    // the similar-case suites; the SimilarCases list by its Vitest test).
    const similar = await api(base, 'GET', `/api/v1/findings/${findings2[0].id}/similar?k=5`);
    log(`similar to finding ${findings2[0].id}: ${similar.status} ${similar.text.slice(0, 300)}`);
    if (similar.status === 200) {
      assert.ok(list(similar.json, 'similar').every((x) => x.patient_id !== 'ADMIN-COPY'), 'other patients only');
    } else {
      assert.equal(similar.status, 400, similar.text);
      assert.match(similar.json?.error ?? '', /lesion/, 'the refusal says why');
    }

    assert.deepEqual(seen.failures.filter((f) => f.status >= 500), [], 'server errors');
    assert.deepEqual(seen.pageErrors, [], 'errors in the web app');
    passed = true;
  } finally {
    if (seen && seen.failures.length) console.log(`--- failed /api answers:\n${seen.failures.map((f) => `${f.status} ${f.method} ${f.url}`).join('\n')}`);
    if (!passed) {
      if (seen?.pageErrors.length) console.log(`--- page errors:\n${seen.pageErrors.join('\n')}`);
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'admin-failure.png'), fullPage: true }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
