// Browser test: radflow's study list and the OHIF viewer, in Debian's Chromium.
//
// Starts `radflow serve` on free ports with a fresh data directory, stores a real chest CT
// series through DICOM (DCMTK storescu), opens radflow's study list at "/", follows the
// study's link into the OHIF viewer at /ohif/viewer?StudyInstanceUIDs=..., and waits until
// the viewport shows an image. Fails on any 4xx/5xx answer to a /dicom-web request.
//
// Run: node tests/browser/viewer.test.mjs (ctest: browser.viewer). Needs `make setup`
// (scripts/setup_web.sh: chromium, the OHIF viewer, playwright-core) and build/radflow.
// Environment: RADFLOW_BIN (the binary), RADFLOW_WEB_DIR (the OHIF dist folder),
// RADFLOW_DATA (shared data folder), CHROMIUM (the browser), KEEP_TMP=1 (keep the temp
// folder even on success).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ADMIN_USER, CHROMIUM, DATA, RADFLOW_BIN, WEB_DIR, authenticate, checkPrerequisites, freePort, log, run,
  signInContext, sleep, stopServer, studyUidOf, viewportPixels, waitForHealthy,
} from './lib.mjs';

const SERIES_DIR = path.join(DATA, 'dicom', 'ct_chest_lung_dx', 'Lung_Dx-A0001', 'CT_5mm_lung_kernel');
const TEST_TIMEOUT_MS = 120_000;

test('OHIF viewer served by radflow shows a stored CT study', { timeout: TEST_TIMEOUT_MS + 30_000 }, async () => {
  checkPrerequisites([SERIES_DIR]);
  const deadline = Date.now() + TEST_TIMEOUT_MS;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-browser-'));
  log(`temp folder ${tmp}`);
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let passed = false;
  const dicomwebResponses = [];  // {method, url, status, ms}
  const dicomwebFailures = [];   // 4xx/5xx
  const networkErrors = [];      // requests that got no answer
  const pageErrors = [];
  const consoleErrors = [];

  try {
    // --- radflow, with a fresh data directory --------------------------------------------
    authenticate(path.join(tmp, 'data'), base);  // an administrator; the browser signs in below
    const logFd = fs.openSync(serverLog, 'a');
    server = spawn(RADFLOW_BIN, [
      'serve', '--data', path.join(tmp, 'data'), '--http-address', '127.0.0.1',
      '--http-port', String(httpPort), '--dicom-port', String(dicomPort),
      '--web-dir', WEB_DIR,
    ], { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    await waitForHealthy(base, server, Math.min(deadline, Date.now() + 30_000));
    log(`radflow up on ${base} (DICOM port ${dicomPort})`);

    // --- the CT series, through C-STORE ---------------------------------------------------
    const files = fs.readdirSync(SERIES_DIR).filter((f) => f.endsWith('.dcm')).sort()
      .map((f) => path.join(SERIES_DIR, f));
    assert.ok(files.length > 0, `no .dcm files in ${SERIES_DIR}`);
    const studyUid = studyUidOf(files[0]);
    const t0 = Date.now();
    await run('storescu', ['-aet', 'BROWSERTEST', '-aec', 'RADFLOW', '127.0.0.1',
                           String(dicomPort), ...files],
              { env: { ...process.env, TCP_NODELAY: '1' } });
    log(`stored ${files.length} instances of study ${studyUid} in ${Date.now() - t0} ms`);

    // --- the browser ------------------------------------------------------------------------
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    await signInContext(context, base, ADMIN_USER);
    const page = context.pages()[0] || await context.newPage();
    const started = new Map();
    page.on('request', (req) => started.set(req, Date.now()));
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (!url.pathname.startsWith('/dicom-web')) return;
      const entry = {
        method: res.request().method(), url: url.pathname + url.search, status: res.status(),
        ms: Date.now() - (started.get(res.request()) ?? Date.now()),
      };
      dicomwebResponses.push(entry);
      if (res.status() >= 400) {
        dicomwebFailures.push(entry);
        res.text().then((body) => { entry.body = body.slice(0, 500); }).catch(() => {});
      }
    });
    page.on('requestfailed', (req) => {
      networkErrors.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
    });
    page.on('pageerror', (err) => pageErrors.push(String(err && err.stack || err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text().slice(0, 500));
    });

    // radflow's plain study list (the worklist web app is at /).
    await page.goto(`${base}/studies`, { waitUntil: 'domcontentloaded' });
    const row = page.locator(`tr[data-study-uid="${studyUid}"]`);
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
    log(`study list row: ${cells.join(' | ')}`);
    assert.equal(cells[0], 'Lung_Dx-A0001', 'patient name in the study list');
    assert.equal(cells[1], 'Lung_Dx-A0001', 'patient ID in the study list');
    assert.match(cells[2], /^\d{4}-\d{2}-\d{2}$/, 'study date in the study list');
    assert.equal(cells[4], 'CT', 'modalities in the study list');
    assert.equal(cells[5], String(files.length), 'number of instances in the study list');

    // Into the viewer.
    const tViewer = Date.now();
    await row.locator('a').first().click();
    await page.waitForURL(/\/ohif\/viewer\?StudyInstanceUIDs=/, { timeout: 20_000 });
    assert.equal(new URL(page.url()).searchParams.get('StudyInstanceUIDs'), studyUid);

    let stats = null;
    for (;;) {
      stats = await viewportPixels(page).catch((e) => ({ error: e.message }));
      const v = stats.viewport;
      if (v && v.width >= 400 && v.litShare > 0.05 && v.levels >= 16) break;
      if (Date.now() > deadline) {
        await page.screenshot({ path: path.join(tmp, 'viewer-timeout.png') }).catch(() => {});
        throw new Error(`no image in the viewport in time: ${JSON.stringify(stats)}`);
      }
      await sleep(250);
    }
    log(`image shown ${Date.now() - tViewer} ms after the click: ${JSON.stringify(stats.viewport)}`);
    // Let the first requests of the prefetch finish, so that their answers are checked too.
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    const shot = path.join(tmp, 'viewer.png');
    await page.screenshot({ path: shot });
    log(`screenshot ${shot}`);

    const frames = dicomwebResponses.filter((r) => r.url.includes('/frames/'));
    log(`${dicomwebResponses.length} /dicom-web responses, ${frames.length} of them frames`);
    assert.ok(dicomwebResponses.some((r) => r.url.includes('/metadata') && r.status === 200),
              'series metadata was fetched');
    assert.ok(frames.some((r) => r.status === 200), 'frames were fetched');
    assert.deepEqual(dicomwebFailures, [], 'failed /dicom-web requests');
    passed = true;
  } finally {
    if (!passed) {
      const report = (title, items) => {
        if (items.length) console.log(`--- ${title} (${items.length}):\n${items.slice(0, 30).join('\n')}`);
      };
      report('failed /dicom-web requests', dicomwebFailures.map(
        (f) => `${f.status} ${f.method} ${f.url}${f.body ? `\n    ${f.body}` : ''}`));
      report('/dicom-web responses', dicomwebResponses.map((r) => `${r.status} ${r.method} ${r.url} ${r.ms} ms`));
      report('requests without answer', networkErrors);
      report('page errors', pageErrors);
      report('console errors', consoleErrors);
      if (fs.existsSync(serverLog)) {
        console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      }
      console.log(`--- kept ${tmp}`);
    }
    const tStop = Date.now();
    if (context) await context.close().catch((e) => log(`closing chromium: ${e.message}`));
    await stopServer(server);
    log(`browser and server stopped in ${Date.now() - tStop} ms`);
    if (passed && !process.env.KEEP_TMP) {
      // Keep the screenshot and the log; drop the stored data and the browser profile.
      fs.rmSync(path.join(tmp, 'data'), { recursive: true, force: true });
      fs.rmSync(path.join(tmp, 'chromium-profile'), { recursive: true, force: true });
    }
  }
});
