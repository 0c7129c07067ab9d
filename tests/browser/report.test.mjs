// Browser test: the report editor of the reading view (docs/report-editor.md) in Debian's
// Chromium, against a real radflow with real AI findings.
//
// Starts `radflow serve` on free ports with a fresh data directory, the shipped
// ct-lung-lesions and ct-emphysema apps only, --stable-seconds 1 and one HL7 receiver (an
// MLLP server in this test that answers every message with ACK AA). Stores the Lung_Dx chest
// CT (CT_5mm_lung_kernel, 64 slices) and a prior of the same patient (10 of its slices with
// new UIDs, a year earlier: too few slices for the apps), posts the prior's report as an
// external report (POST /api/v1/reports/external), waits for both AI jobs, then, as dr.a:
//   1. opens the reading view: the draft is created pre-filled (template fields holding AI
//      values, marked AI), the proposals listed with app name and version, "AI-proposed";
//      the prior's report shown read-only beside it;
//   2. Alt+A accepts the first proposal (its sentence lands in the findings text); Alt+R
//      rejects the second with a reason; both decisions are in GET /api/v1/decisions;
//   3. types the impression; the autosave PUTs it (save state "saved"); a page reload
//      shows it again, from the server (no copy left in localStorage);
//   4. a sentence with the accepted finding's size and the wrong side (when it has both); Alt+Q
//      runs QA: at least one issue with a link; following the link focuses the finding or
//      selects the sentence in the text;
//   5. Ctrl+Enter opens the sign dialog; every error acknowledged; signed final: status
//      final, the DICOM SR link, the HL7 delivery "sent" (the receiver got an ORU^R01 with
//      OBR-25 F), "Addendum" offered; the worklist item is final.
// Screenshots: report-draft.png, report-decided.png, report-qa.png, report-sign.png,
// report-signed.png in RADFLOW_ARTIFACTS (default build/test-artifacts/web/).
//
// Run: node tests/browser/report.test.mjs (ctest: browser.report). Needs `make setup`
// (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, REPO, WEB_DIR, checkPrerequisites, dicomFiles, launchChromium, log, run, sleep,
  signInContext, startRadflow, stopServer, storeFiles, studyUidOf, tokenFor,
} from './lib.mjs';

const CHEST_DIR = path.join(DATA, 'dicom', 'ct_chest_lung_dx', 'Lung_Dx-A0001', 'CT_5mm_lung_kernel');
const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const APPS = ['ct-lung-lesions', 'ct-emphysema'];
const TEST_TIMEOUT_MS = 270_000;
const READER = 'dr.a';
const PRIOR_TEXT = 'CT chest 2006: 4 mm nodule in the right lower lobe. IMPRESSION: Follow-up CT in 12 months.';
const IMPRESSION = 'Pulmonary nodule as described; compare with the 2006 examination. Ø measured by AI, checked.';

function uuidUid() {
  const hex = randomUUID().replace(/-/g, '');
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

// A prior of the series in `srcDir`: `count` of its files with new study, series and SOP
// UIDs, the same patient, an earlier date. Returns {files, studyUid}.
async function makePrior(srcDir, outDir, count) {
  fs.mkdirSync(outDir, { recursive: true });
  const files = dicomFiles(srcDir).slice(0, count).map((f) => {
    const to = path.join(outDir, path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
  const studyUid = uuidUid();
  await run('dcmodify', ['-nb', '-gin',
    '-i', `StudyInstanceUID=${studyUid}`, '-i', `SeriesInstanceUID=${uuidUid()}`,
    '-i', 'StudyDate=20060404', '-i', 'StudyTime=090000', '-i', 'AccessionNumber=PRIOR2006',
    ...files]);
  assert.equal(studyUidOf(files[0]), studyUid);
  return { files, studyUid };
}

// An MLLP receiver (0x0B message 0x1C 0x0D) answering every message with ACK AA.
function mllpReceiver() {
  const received = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf(Buffer.from([0x1c, 0x0d]));
        if (end < 0) break;
        const start = buf.indexOf(0x0b);
        const msg = buf.subarray(start + 1, end).toString('utf8');
        buf = buf.subarray(end + 2);
        received.push(msg);
        const msh = msg.split('\r')[0].split('|');
        const control = msh[9] ?? '';
        const now = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
        const ack = `MSH|^~\\&|RIS|HOSP|${msh[2] ?? ''}|${msh[3] ?? ''}|${now}||ACK^R01^ACK|A${control}|P|2.5.1\rMSA|AA|${control}\r`;
        sock.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack, 'utf8'), Buffer.from([0x1c, 0x0d])]));
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, received })));
}

async function api(base, method, route, body, reader = READER) {
  const res = await fetch(`${base}${route}`, {
    method, headers: { 'Content-Type': 'application/json', 'X-Radflow-Reader': reader },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function waitFor(what, fn, timeoutMs, intervalMs = 100) {
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

function watch(page) {
  const seen = { failures: [], pageErrors: [] };
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/') || res.status() < 400) return;
    const entry = { status: res.status(), method: res.request().method(), url: url.pathname + url.search };
    seen.failures.push(entry);
    res.text().then((b) => { entry.body = b.slice(0, 300); }).catch(() => {});
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err && err.stack || err).slice(0, 800)));
  return seen;
}

const phase = (page) => page.getByTestId('report-editor').getAttribute('data-phase');
const OPPOSITE = { left: 'right', right: 'left' };

test('report editor: pre-filled draft, AI decisions, autosave, QA, signing', { timeout: TEST_TIMEOUT_MS + 30_000 }, async () => {
  checkPrerequisites([CHEST_DIR], [[path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-report-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const serverLog = path.join(tmp, 'radflow.log');
  const apps = path.join(tmp, 'apps');
  fs.mkdirSync(apps);
  for (const a of APPS) fs.copyFileSync(path.join(REPO, 'apps', `${a}.json`), path.join(apps, `${a}.json`));
  const ris = await mllpReceiver();
  let server = null;
  let context = null;
  let page = null;
  let passed = false;
  let seen = null;
  const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, name) });

  try {
    const started = await startRadflow({
      dataDir: path.join(tmp, 'data'), logFile: serverLog, auth: true,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--stable-seconds', '1',
             '--hl7-receiver', `127.0.0.1:${ris.port}`],
      env: { RADFLOW_APPS_DIR: apps },
    });
    server = started.server;
    const { base, dicomPort } = started;
    log(`radflow up on ${base}; HL7 receiver on ${ris.port}`);

    // --- the study, its prior and the prior's report --------------------------------------
    const files = dicomFiles(CHEST_DIR);
    const chest = studyUidOf(files[0]);
    const prior = await makePrior(CHEST_DIR, path.join(tmp, 'prior'), 10);
    await storeFiles(dicomPort, prior.files);
    await storeFiles(dicomPort, files);
    log(`stored chest ${chest} (${files.length}) and prior ${prior.studyUid} (${prior.files.length})`);
    await waitFor('prior complete', async () => (await api(base, 'GET', `/api/v1/worklist/${prior.studyUid}`)).json?.completed_at > 0, 20_000);
    const ext = await api(base, 'POST', '/api/v1/reports/external', {
      patient_id: 'Lung_Dx-A0001', study_uid: prior.studyUid, accession_number: 'PRIOR2006', status: 'final',
      text: PRIOR_TEXT, author: 'Dr Prior', observed_at: '20060404100000',
    });
    assert.equal(ext.status, 201, `POST /api/v1/reports/external: ${ext.text}`);

    const jobs = await waitFor('AI jobs finished', async () => {
      const r = await api(base, 'GET', `/api/v1/jobs?study=${chest}&limit=50`);
      const list = Array.isArray(r.json) ? r.json : r.json?.jobs ?? [];
      const done = APPS.map((a) => list.find((j) => j.app_id === a && ['succeeded', 'failed', 'cancelled'].includes(j.state)));
      return done.every(Boolean) && done;
    }, 150_000, 500);
    log(`jobs: ${jobs.map((j) => `${j.app_id} ${j.app_version} ${j.state} ${j.duration_ms ?? ''} ms`).join('; ')}`);
    assert.ok(jobs.every((j) => j.state === 'succeeded'), `AI jobs: ${JSON.stringify(jobs)}`);
    const proposals = (await api(base, 'GET', `/api/v1/studies/${chest}/proposals`)).json?.proposals ?? [];
    log(`${proposals.length} proposals: ${proposals.map((p) => `${p.finding_id} ${p.kind} ${p.severity} "${p.sentence}"`).join(' | ')}`);
    assert.ok(proposals.length >= 2, 'at least two AI proposals (a nodule and the emphysema measurement)');

    // --- 1. the reading view, pre-filled --------------------------------------------------
    context = await launchChromium(path.join(tmp, 'profile'), { width: 1700, height: 1000 });
    page = context.pages()[0] || await context.newPage();
    seen = watch(page);
    tokenFor(base, READER, 'radiologist');  // the reader's account (the CLI), then sign in
    await signInContext(context, base, READER);
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
    await page.goto(`${base}/read/${chest}`, { waitUntil: 'domcontentloaded' });
    await waitFor('reading mode', async () => (await page.getByTestId('reading').getAttribute('data-mode')) === 'reading', 15_000);
    await waitFor('the draft open', async () => (await phase(page)) === 'draft', 15_000);
    const cards = page.getByTestId('proposal');
    assert.equal(await cards.count(), proposals.length, 'one card per proposal');
    const first = proposals[0];
    const second = proposals[1];
    const card = (p) => page.locator(`[data-testid="proposal"][data-finding-id="${p.finding_id}"]`);
    assert.match(await card(first).getByTestId('proposal-app').innerText(), new RegExp(`${first.app_id} ${first.app_version.replace(/\./g, '\\.')}`));
    assert.equal(await page.getByTestId('ai-proposed').count(), proposals.length, 'all AI-proposed');
    const aiFields = await page.locator('.rf-ai').count();
    log(`${aiFields} template fields hold AI values; template "${await page.locator('.report-template').innerText()}"`);
    assert.ok(aiFields > 0, 'fields pre-filled from the proposals');
    const priorReport = page.getByTestId('prior-report');
    await waitFor("the prior's report", async () => (await priorReport.innerText()).includes('Follow-up CT in 12 months'), 10_000);
    // For the screenshot only: the images beside the report (OHIF drawing), not waited on long.
    await waitFor('OHIF viewports drawn', async () => {
      const frame = page.frames().find((f) => f.url().includes('/ohif/viewer'));
      return frame && frame.evaluate(() => [...document.querySelectorAll('canvas.cornerstone-canvas')].filter((c) => c.width > 100).length >= 2);
    }, 30_000, 500).catch((e) => log(`(screenshot without images: ${e.message})`));
    await shot('report-draft.png');
    const reportId = (await api(base, 'GET', `/api/v1/studies/${chest}/reports`)).json.reports.find((r) => r.status === 'draft').id;

    // --- 2. accept one (Alt+A), reject one with a reason (Alt+R) ----------------------------
    await card(first).focus();
    await page.keyboard.press('Alt+KeyA');
    await waitFor('first accepted', async () => (await card(first).getAttribute('data-decision')) === 'accepted', 10_000);
    const findingsText = page.getByTestId('text-findings_text');
    await waitFor('its sentence in the findings', async () => (await findingsText.inputValue()).includes(first.sentence.trim()), 5_000);
    await card(second).focus();
    await page.keyboard.press('Alt+KeyR');
    await page.getByTestId('reject-reason').fill('measured on an expiratory phase');
    await page.getByTestId('reject-reason').press('Enter');
    await waitFor('second rejected', async () => (await card(second).getAttribute('data-decision')) === 'rejected', 10_000);
    const decisions = (await api(base, 'GET', `/api/v1/decisions?study_uid=${chest}`)).json.decisions;
    const byFinding = (id) => decisions.find((d) => d.finding_id === id);
    assert.equal(byFinding(first.finding_id)?.decision, 'accepted');
    assert.equal(byFinding(first.finding_id)?.reader, READER);
    assert.equal(byFinding(second.finding_id)?.decision, 'rejected');
    assert.equal(byFinding(second.finding_id)?.reason, 'measured on an expiratory phase');
    await findingsText.scrollIntoViewIfNeeded();
    await shot('report-decided.png');

    // --- 3. autosave survives a reload ------------------------------------------------------
    const impression = page.getByTestId('text-impression_text');
    await impression.click();
    await impression.fill(IMPRESSION);
    await waitFor('saved', async () => (await page.getByTestId('save-state').getAttribute('data-state')) === 'clean', 10_000);
    const saved = await api(base, 'GET', `/api/v1/reports/${reportId}`);
    assert.equal(saved.json.impression_text, IMPRESSION, 'the autosave reached the server');
    assert.ok(saved.json.findings_text.includes(first.sentence.trim()));
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitFor('the draft again', async () => (await phase(page)) === 'draft', 15_000);
    assert.equal(await page.getByTestId('text-impression_text').inputValue(), IMPRESSION, 'the text is still there');
    assert.equal(await page.evaluate((id) => localStorage.getItem(`radflow.report-draft.${id}`), reportId), null,
      'from the server, no unsaved copy left');

    // --- 4. QA ------------------------------------------------------------------------------
    const side = OPPOSITE[first.laterality];
    // With the finding's own size, so that QA reads it as this finding (not another lesion).
    const size = /(\d+(?:\.\d+)?) mm/.exec(first.sentence)?.[1];
    const wrongSide = side && size ? `The ${size} mm ${first.kind === 'lung_nodule' ? 'nodule' : 'finding'} lies in the ${side} ${first.kind === 'lung_nodule' ? 'lung' : 'side'}.` : '';
    if (wrongSide) {
      const ta = page.getByTestId('text-findings_text');
      await ta.click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(`\n${wrongSide}`);
    }
    await page.keyboard.press('Alt+KeyQ');
    if (wrongSide) {
      await waitFor('the sentence saved', async () =>
        (await api(base, 'GET', `/api/v1/reports/${reportId}`)).json.findings_text.includes(wrongSide), 10_000);
    }
    const issues = page.getByTestId('qa-issue');
    let qa = [];
    await waitFor('the QA panel shows the server\'s issues', async () => {
      qa = (await api(base, 'GET', `/api/v1/reports/${reportId}/qa`)).json.issues;
      return qa.length > 0 && (await page.getByTestId('qa').getAttribute('data-checking')) === 'false' &&
        (await issues.count()) === qa.length;
    }, 10_000, 250);
    log(`QA: ${qa.map((i) => `${i.severity} ${i.check} finding ${i.finding_id} ${i.field}@${i.offset}+${i.length}: ${i.message}`).join(' | ')}`);
    if (wrongSide) {
      assert.ok(qa.some((i) => i.check === 'laterality_mismatch' && i.field === 'findings_text' && i.offset >= 0),
        'QA flags the sentence with the wrong side');
    }
    await shot('report-qa.png');
    const withSentence = page.locator('[data-testid="qa-issue"] [data-testid="qa-link-sentence"]');
    if (await withSentence.count()) {
      const issue = qa.find((i) => i.field && i.offset >= 0);
      await withSentence.first().click();
      const sel = await page.evaluate(() => {
        const el = document.activeElement;
        return el && 'selectionStart' in el ? { id: el.id, text: el.value.slice(el.selectionStart, el.selectionEnd) } : null;
      });
      log(`sentence link selected ${JSON.stringify(sel)} for ${issue.check}`);
      assert.ok(sel && sel.text.length > 0, 'the link selects the sentence in the text');
      const bytes = Buffer.from(await page.locator(`#${sel.id}`).inputValue(), 'utf8');
      assert.equal(sel.text, bytes.subarray(issue.offset, issue.offset + issue.length).toString('utf8'),
        'the selection is the issue\'s (UTF-8 offset, length)');
    } else {
      await page.locator('[data-testid="qa-issue"] [data-testid="qa-link-finding"]').first().click();
      const focused = await page.evaluate(() => document.activeElement?.dataset?.findingId ?? null);
      assert.ok(focused, 'the link focuses the finding');
    }

    // --- 5. sign final ----------------------------------------------------------------------
    await page.getByTestId('text-impression_text').click();
    await page.keyboard.press('Control+Enter');
    const dialog = page.getByTestId('sign-dialog');
    await dialog.waitFor({ timeout: 10_000 });
    assert.match(await dialog.getByTestId('sign-by').innerText(), /dr\.a/);
    const acks = dialog.getByTestId('sign-ack');
    for (let i = 0; i < await acks.count(); i++) await acks.nth(i).check();
    await dialog.getByTestId('sign-final').check();
    await shot('report-sign.png');
    await dialog.getByTestId('sign-confirm').click();
    await waitFor('signed', async () => (await phase(page)) === 'signed', 20_000);
    assert.equal((await page.getByTestId('report-status').first().innerText()).trim().toLowerCase(), 'final');
    assert.match(await page.getByTestId('signed-line').innerText(), /signed by dr\.a/);
    const srHref = await page.getByTestId('sr-link').getAttribute('href');
    assert.match(srHref, new RegExp(`^/dicom-web/studies/${chest.replace(/\./g, '\\.')}/series/[0-9.]+/instances/[0-9.]+$`));
    await waitFor('delivered to the RIS', async () => /sent/.test(await page.getByTestId('delivery').innerText()), 30_000);
    assert.ok(await page.getByTestId('addendum').isVisible(), 'Addendum offered');
    await shot('report-signed.png');
    const signed = (await api(base, 'GET', `/api/v1/reports/${reportId}`)).json;
    assert.equal(signed.status, 'final');
    assert.equal(signed.signed_by, READER);
    assert.ok(signed.sr_sop_uid, 'SR stored');
    const oru = ris.received.find((m) => /\rOBR\|/.test(m));
    assert.ok(oru, `an ORU^R01 reached the receiver (${ris.received.length} messages)`);
    assert.equal(oru.split('\r').find((s) => s.startsWith('OBR|')).split('|')[25], 'F', 'OBR-25 F');
    const item = (await api(base, 'GET', `/api/v1/worklist/${chest}`)).json;
    assert.equal(item.state, 'final', 'the worklist item is final');

    assert.deepEqual(seen.pageErrors.filter((e) => !e.includes('/ohif/')), [], 'errors in the web app');
    assert.deepEqual(seen.failures.filter((f) => f.status >= 500), [], 'server errors');
    passed = true;
  } finally {
    if (seen?.failures.length) console.log(`--- failed /api answers:\n${seen.failures.map((f) => `${f.status} ${f.method} ${f.url} ${f.body ?? ''}`).join('\n')}`);
    if (!passed) {
      if (seen?.pageErrors.length) console.log(`--- page errors:\n${seen.pageErrors.join('\n')}`);
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'report-failure.png') }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch((e) => log(`closing chromium: ${e.message}`));
    await stopServer(server);
    ris.server.close();
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
