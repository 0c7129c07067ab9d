// Browser test: the technologist's Exams page (issue 14; web/src/pages/ExamsPage.tsx) in
// Debian's Chromium against a real radflow.
//
//   1. The day of a CT/MR department (tests/browser/exams_fixture.mjs: 11 orders, 3 stations,
//      STAT to LOW, real-style procedures and reasons) is booked through the REST
//      (POST /api/v1/orders, as the technologist tech.lee); radflow proposes a protocol for each.
//   2. tech.lee signs in (session cookie) and opens Exams from the header: one table per station,
//      each exam with time, priority, patient, procedure, reason and the protocol proposal with
//      its reason, as GET /api/v1/orders has them; in each station the open STAT exam is first
//      and marked. Screenshot exams-day.png.
//   3. Accept the proposal of the stroke CT, change the protocol of another (from the list of
//      GET /api/v1/protocols), mark one patient arrived and one a no-show, note the reminder
//      call of one: after each, GET /api/v1/orders/{id} agrees (status, protocol_state,
//      protocol_by tech.lee, protocol code). The modality reports MPPS (N-CREATE / N-SET, the
//      SCU of tests/integration/test_mpps.py via mpps_scu.py): the trauma head CT completed,
//      the CTA in progress — the page shows both, with the performed times, the completed STAT
//      unmarked at the end of its station. Screenshot exams-marked.png.
//   4. A CT study arrives (C-STORE) with the accession of an order: that order shows it
//      (linked_study_uid); another arrives for a patient of the day with an accession nobody
//      ordered: it is listed under "Studies without an order", is linked there to the patient's
//      order, and GET /api/v1/reconciliation no longer lists it; a third one is dismissed.
//      Screenshots exams-reconciliation.png, exams-linked.png.
//   5. The details of an exam show its audit history; a radiologist's browser is told the page
//      is not for the role.
// No failed API call and no page error along the way. `--no-show-grace-minutes 1440` keeps
// the periodic no-show marking from changing the test's exams; a model trained by
// `radflow noshow train` on the shared table scores the appointments still ahead.
//
// Run: node tests/browser/exams.test.mjs (ctest: browser.exams). Needs `make setup`
// (chromium, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, HERE, RADFLOW_BIN, REPO, WEB_DIR, checkPrerequisites, dicomFiles, launchChromium, log, provisionUser, run,
  signInContext, startRadflow, stopServer, storeFiles, studyUidOf, tokenFor,
} from './lib.mjs';
import { report, waitFor, watch } from './signin.mjs';
import { dayStart, examOrders } from './exams_fixture.mjs';

const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const CT_DIR = path.join(DATA, 'dicom', 'ct_lung_ibsi_pat1', 'dicom', 'image');
const NOSHOW_TABLE = path.join(DATA, 'tables', 'noshow_appointments', 'KaggleV2-May-2016.csv');
const TEST_TIMEOUT_MS = 240_000;
const TECH = 'tech.lee';
const TECH_HEADERS = { 'X-Radflow-Reader': TECH, 'Content-Type': 'application/json' };

function uuidUid() {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

// A few slices of the CT as a new study of `patient` with `accession` (new UIDs).
async function ctStudy(outDir, { patientId, patientName, accession }) {
  fs.mkdirSync(outDir, { recursive: true });
  const files = dicomFiles(CT_DIR).slice(0, 6).map((f) => {
    const to = path.join(outDir, path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
  const studyUid = uuidUid();
  const d = new Date();
  const da = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
  await run('dcmodify', ['-nb', '-gin', '-i', `StudyInstanceUID=${studyUid}`, '-i', `SeriesInstanceUID=${uuidUid()}`,
    '-i', `PatientID=${patientId}`, '-i', `PatientName=${patientName}`, '-i', `AccessionNumber=${accession}`,
    '-i', `StudyDate=${da}`, ...files]);
  assert.equal(studyUidOf(files[0]), studyUid);
  return { files, studyUid };
}

async function api(base, method, url, body) {
  const res = await fetch(`${base}${url}`, { method, headers: TECH_HEADERS, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}
const listOf = (r, key) => (Array.isArray(r) ? r : (r?.[key] ?? r?.items ?? []));

// What the page shows of the exams: per station the rows in order, with their marks.
const pageExams = (page) => page.$$eval('section.station', (sections) => sections.map((s) => ({
  station: s.dataset.station,
  rows: [...s.querySelectorAll('tr[data-order-id]')].map((r) => ({
    id: Number(r.dataset.orderId), status: r.dataset.status, priority: r.dataset.priority, stat: r.classList.contains('stat'),
    text: r.innerText, protocol: r.querySelector('[data-testid=protocol]')?.innerText ?? '',
    protocolState: r.querySelector('[data-testid=protocol]')?.dataset.state ?? '',
    risk: r.querySelector('[data-testid=risk]')?.innerText ?? '',
  })),
})));

test('exams page: the technologist\'s day, protocols, marks and reconciliation', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([CT_DIR], [[path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist'],
    [NOSHOW_TABLE, 'the no-show appointments table (shared data)']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-exams-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  const serverLog = path.join(tmp, 'radflow.log');
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps, { recursive: true });
  let server = null;
  const contexts = [];
  const watches = [];
  let page = null;
  let passed = false;
  try {
    // the no-show model (docs/noshow.md), trained on the whole table (a few seconds)
    const model = path.join(tmp, 'noshow.model');
    await run(RADFLOW_BIN, ['noshow', 'train', '--table', NOSHOW_TABLE, '--out', model]);
    const started = await startRadflow({
      dataDir, logFile: serverLog, auth: true, env: { RADFLOW_APPS_DIR: emptyApps },
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--no-show-grace-minutes', '1440', '--noshow-model', model],
    });
    server = started.server;
    const { base, dicomPort } = started;
    tokenFor(base, TECH, 'technologist');  // the account (password for the browser) and its token for Node's fetch
    provisionUser(dataDir, 'dr.read', 'radiologist');

    // 1. the day's orders
    const t0 = dayStart();
    const tag = String(Date.now() % 100000);
    const booked = new Map();
    for (const { key, body } of examOrders(tag, t0)) {
      const o = await api(base, 'POST', '/api/v1/orders', body);
      assert.ok(o.id > 0, `POST /api/v1/orders ${key}: ${JSON.stringify(o)}`);
      booked.set(key, o);
    }
    const stroke = booked.get('head-stroke');
    log(`booked ${booked.size} orders from ${new Date(t0).toString()}; stroke CT proposal: ${stroke.protocol_code} (${stroke.protocol_state}) ${stroke.protocol_reason}`);
    assert.ok(stroke.protocol_code && stroke.protocol_state === 'proposed',
      `radflow proposes a protocol for "CT HEAD WO CONTRAST" / suspected stroke: ${JSON.stringify(stroke)}`);

    // every appointment still ahead is scored by the model (the server re-scores after a new
    // order, within its 10 s tick)
    const ahead = [...booked.values()].filter((o) => o.scheduled_at > Date.now() + 60_000);
    await waitFor('the appointments ahead scored', async () => {
      for (const o of ahead) if (!((await api(base, 'GET', `/api/v1/orders/${o.id}`)).noshow_risk >= 0)) return false;
      return true;
    }, 30_000, 1000);

    // 2. the page
    const ctx = await launchChromium(path.join(tmp, 'profile-tech'), { width: 1440, height: 900 });
    contexts.push(ctx);
    await signInContext(ctx, base, TECH);
    page = ctx.pages()[0] ?? await ctx.newPage();
    const w = watch(page, TECH);
    watches.push(w);
    await page.goto(`${base}/worklist`);
    await page.getByTestId('nav-exams').click();
    await waitFor('on /exams', async () => new URL(page.url()).pathname === '/exams', 5_000);
    await page.locator(`tr[data-order-id="${stroke.id}"]`).waitFor({ timeout: 15_000 });
    const listed = await api(base, 'GET', `/api/v1/orders?from=${t0 - 1}&to=${t0 + 6 * 3600_000}&limit=100`);
    const byId = new Map(listOf(listed, 'items').map((o) => [o.id, o]));
    const shown = await pageExams(page);
    assert.deepEqual(shown.map((s) => s.station), ['CT1', 'CT2', 'MR1'], 'one table per station');
    for (const s of shown) {
      const openRows = s.rows.filter((r) => !['completed', 'discontinued', 'cancelled', 'no_show'].includes(r.status));
      const firstStat = openRows.findIndex((r) => r.priority === 'STAT');
      if (firstStat >= 0) assert.equal(firstStat, 0, `${s.station}: the STAT exam first: ${JSON.stringify(s.rows.map((r) => r.priority))}`);
      for (const r of s.rows) {
        const o = byId.get(r.id);
        assert.ok(o, `row ${r.id} is an order of the day`);
        assert.equal(r.stat, o.priority === 'STAT', `order ${r.id}: marked STAT iff STAT`);
        assert.ok(r.text.includes(o.reason.slice(0, 30)), `order ${r.id}: the reason for exam shown`);
        assert.ok(r.text.includes(o.procedure_text), `order ${r.id}: the procedure shown`);
        if (o.protocol_code) assert.ok(r.protocol.includes(o.protocol_name || o.protocol_code), `order ${r.id}: protocol ${o.protocol_name}`);
        assert.equal(r.protocolState, o.protocol_state || 'none');
        if (o.noshow_risk >= 0) assert.equal(r.risk, `${Math.round(o.noshow_risk * 100)} %`, `order ${r.id}: the no-show risk`);
        else assert.equal(r.risk, '');
      }
    }
    const proposed = [...byId.values()].filter((o) => o.protocol_state === 'proposed').length;
    const scored = [...byId.values()].filter((o) => o.noshow_risk >= 0).length;
    log(`page: ${shown.map((s) => `${s.station} ${s.rows.length}`).join(', ')}; ${proposed}/${byId.size} with a proposal, ${scored} scored for no-show`);
    assert.ok((await page.locator('tr.stat').count()) >= 2, 'the two STAT head CTs are marked');
    await page.screenshot({ path: path.join(ARTIFACTS, 'exams-day.png'), fullPage: true });

    // 3. the technologist's actions, each checked against the API
    const row = (o) => page.locator(`tr[data-order-id="${o.id}"]`);
    const order = (o) => api(base, 'GET', `/api/v1/orders/${o.id}`);
    await row(stroke).getByTestId('protocol-accept').click();
    await waitFor('protocol accepted in the page', async () => (await row(stroke).getByTestId('protocol').getAttribute('data-state')) === 'accepted', 10_000);
    let now = await order(stroke);
    assert.equal(now.protocol_state, 'accepted');
    assert.equal(now.protocol_by, TECH);

    const staging = booked.get('chest-staging');
    await row(staging).getByTestId('protocol-change').click();
    const select = row(staging).getByTestId('protocol-select');
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
    const protocols = await api(base, 'GET', '/api/v1/protocols');
    const codes = new Set(listOf(protocols, 'rules').map((r) => r.protocol_code));
    assert.ok(options.length >= 2 && options.every((c) => codes.has(c)), `the Change list is the rule set's: ${options}`);
    const other = options.find((c) => c !== staging.protocol_code);
    await select.selectOption(other);
    await row(staging).getByTestId('protocol-save').click();
    await waitFor('protocol changed', async () => (await order(staging)).protocol_code === other, 10_000);
    now = await order(staging);
    assert.equal(now.protocol_state, 'changed');
    assert.equal(now.protocol_by, TECH);
    await waitFor('change shown', async () => (await row(staging).getByTestId('protocol').getAttribute('data-state')) === 'changed', 10_000);

    const colic = booked.get('abd-colic');
    const screen = booked.get('chest-screen');
    await row(colic).getByTestId('mark-arrived').click();
    await waitFor('arrived', async () => (await order(colic)).status === 'arrived', 10_000);
    await row(screen).getByTestId('mark-noshow').click();
    await waitFor('no-show', async () => (await order(screen)).status === 'no_show', 10_000);
    await waitFor('statuses shown', async () =>
      (await row(colic).getByTestId('status').innerText()) === 'arrived' && (await row(screen).getByTestId('status').innerText()) === 'no-show', 10_000);
    const risky = page.getByTestId('mark-reminded');
    if (await risky.count()) {
      const id = Number(await risky.first().locator('xpath=ancestor::tr').getAttribute('data-order-id'));
      await risky.first().click();
      await waitFor('reminder noted', async () => (await api(base, 'GET', `/api/v1/orders/${id}`)).reminder_sent === true, 10_000);
      log(`reminder call noted for order ${id}`);
    } else {
      log('no high-risk appointment to call (no model loaded, or all below the threshold)');
    }

    // the modality's MPPS (PS3.4 F.7): the trauma head CT completed, the CTA in progress
    const trauma = booked.get('head-trauma');
    const cta = booked.get('cta-neck');
    const mpps = (o, final) => run('/usr/bin/python3', [path.join(HERE, 'mpps_scu.py'), String(dicomPort), uuidUid(),
      o.accession_number, o.station_ae, o.patient_id, o.patient_name, ...(final ? [final] : [])]);
    log(`MPPS: ${(await mpps(trauma, 'COMPLETED')).trim()} ${(await mpps(cta)).trim()}`);
    await waitFor('MPPS applied to the orders', async () =>
      (await order(trauma)).status === 'completed' && (await order(cta)).status === 'in_progress', 10_000);
    now = await order(trauma);
    assert.ok(now.performed_start > 0 && now.performed_end >= now.performed_start, `performed times: ${JSON.stringify(now)}`);
    await page.getByTestId('refresh').click();
    await waitFor('MPPS statuses shown', async () =>
      (await row(trauma).getByTestId('status').innerText()) === 'completed' && (await row(cta).getByTestId('status').innerText()) === 'in progress', 10_000);
    assert.match(await row(trauma).innerText(), /MPPS \d\d:\d\d–\d\d:\d\d/, 'the performed times');
    assert.equal(await row(trauma).getAttribute('class').then((c) => c.includes('stat')), false, 'a completed STAT is no longer marked');
    const ct2 = (await pageExams(page)).find((s) => s.station === 'CT2').rows.map((r) => r.id);
    assert.equal(ct2[ct2.length - 1], trauma.id, 'the completed exam goes to the end of its station');
    assert.equal(await page.getByTestId('stat-alert').innerText(), '1 STAT waiting');
    await page.screenshot({ path: path.join(ARTIFACTS, 'exams-marked.png'), fullPage: true });

    // 4. studies arriving: with an order's accession, and without one
    const ctpa = booked.get('ctpa');
    const withOrder = await ctStudy(path.join(tmp, 'with-order'), { patientId: colic.patient_id, patientName: colic.patient_name, accession: colic.accession_number });
    const stray = await ctStudy(path.join(tmp, 'stray'), { patientId: ctpa.patient_id, patientName: ctpa.patient_name, accession: `EXT${tag}` });
    const outside = await ctStudy(path.join(tmp, 'outside'), { patientId: 'OUT-77', patientName: 'Outside^Imaging', accession: `OUT${tag}` });
    await storeFiles(dicomPort, [...withOrder.files, ...stray.files, ...outside.files]);
    await waitFor('the study linked to its order', async () => (await order(colic)).linked_study_uid === withOrder.studyUid, 30_000, 500);
    const unmatchedNow = async () => listOf(await api(base, 'GET', '/api/v1/reconciliation?all=0'), 'unmatched').map((u) => u.study_uid);
    await waitFor('two studies without an order', async () => {
      const u = await unmatchedNow();
      return u.includes(stray.studyUid) && u.includes(outside.studyUid);
    }, 30_000, 500);
    await page.getByTestId('refresh').click();
    const strayRow = page.locator(`tr[data-unmatched="${stray.studyUid}"]`);
    await strayRow.waitFor({ timeout: 10_000 });
    await waitFor('the order shows its images', async () => (await row(colic).innerText()).includes('images'), 10_000);
    await strayRow.getByTestId('link-start').click();
    const linkSelect = strayRow.getByTestId('link-order');
    await waitFor('the patient\'s order proposed first', async () => (await linkSelect.inputValue()) === String(ctpa.id), 10_000);
    await page.getByTestId('reconciliation').screenshot({ path: path.join(ARTIFACTS, 'exams-reconciliation.png') });
    await strayRow.getByTestId('link-submit').click();
    await waitFor('linked', async () => !(await unmatchedNow()).includes(stray.studyUid), 10_000);
    now = await order(ctpa);
    assert.equal(now.linked_study_uid, stray.studyUid, 'the order has the study');
    await page.locator(`tr[data-unmatched="${outside.studyUid}"]`).getByTestId('dismiss').click();
    await waitFor('dismissed', async () => !(await unmatchedNow()).includes(outside.studyUid), 10_000);
    const all = listOf(await api(base, 'GET', '/api/v1/reconciliation?all=1'), 'unmatched');
    const resolved = new Map(all.map((u) => [u.study_uid, u]));
    assert.equal(resolved.get(stray.studyUid)?.resolved_order_id, ctpa.id);
    assert.equal(resolved.get(outside.studyUid)?.resolved_order_id, 0);
    assert.equal(resolved.get(outside.studyUid)?.resolved_by, TECH);
    await waitFor('count 0', async () => (await page.getByTestId('unmatched-count').innerText()) === '0', 10_000);

    // 5. details, and the role check
    await row(stroke).getByTestId('exam-toggle').click();
    const details = page.getByTestId('exam-details');
    await waitFor('the audit history', async () => /protocol/i.test(await details.innerText()), 10_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'exams-linked.png'), fullPage: true });

    const ctxR = await launchChromium(path.join(tmp, 'profile-rad'));
    contexts.push(ctxR);
    await signInContext(ctxR, base, 'dr.read');
    const pageR = ctxR.pages()[0] ?? await ctxR.newPage();
    await pageR.goto(`${base}/exams`);
    await pageR.getByTestId('forbidden').waitFor({ timeout: 10_000 });
    assert.equal(await pageR.getByTestId('nav-exams').count(), 0, 'no Exams link for a radiologist');

    for (const x of watches) {
      assert.deepEqual(x.failures, [], 'failed API calls');
      assert.deepEqual(x.pageErrors, [], 'errors in the page');
    }
    passed = true;
  } finally {
    for (const x of watches) {
      report('failed API answers', x.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', x.pageErrors); report('console errors', x.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'exams-failure.png'), fullPage: true }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    for (const c of contexts) await c.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
