// Browser test: OHIF opens a de-identified study (issue 18, PS3.15 Annex E acceptance).
//
// `radflow deid IN OUT --data D` de-identifies the GE head CT of ../shared/data (28 slices,
// Basic Profile); `radflow import --data D OUT` stores the output before the server starts;
// a radiologist made by `radflow user add` signs in and opens the OHIF viewer at
// /ohif/viewer?StudyInstanceUIDs=<the de-identified study>. Checks: the study UID is a new
// one (2.25…), the viewport draws the image (a share of lit pixels), no error dialog or
// error boundary shows, no /dicom-web request fails, and the original patient name and ID
// appear nowhere on the page.
// Screenshot (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): deid-viewer.png.
//
// Run: node tests/browser/deid_viewer.test.mjs (ctest: browser.deid_viewer). Needs `make
// setup` (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, RADFLOW_BIN, REPO, WEB_DIR, checkPrerequisites, launchChromium, log, run, startRadflow, stopServer,
  studyUidOf,
} from './lib.mjs';
import { addUser, report, signIn, waitFor, watch } from './signin.mjs';

const CT_DIR = path.join(DATA, 'dicom', 'ct_head_ge_tilt', 'dicom');
const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const TEST_TIMEOUT_MS = 240_000;
const VIEW_MS = 60_000;
const PW = 'radiologist passphrase 7';

function dicomValue(file, tag) {
  const out = execFileSync('dcmdump', ['+P', tag, file], { encoding: 'utf8' });
  const m = /\[([^\]]*)\]/.exec(out);
  return m ? m[1].trim() : '';
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

// OHIF's own error displays: its error boundary and any dialog that talks of an error.
async function ohifErrors(page) {
  return page.evaluate(() => {
    const out = [];
    const visible = (el) => el.offsetParent !== null || el.getClientRects().length > 0;
    for (const el of document.querySelectorAll('[role="dialog"], [role="alertdialog"], .modal, [class*="ErrorBoundary"]')) {
      if (visible(el) && /error|wrong|failed/i.test(el.textContent || '')) out.push(el.textContent.trim().slice(0, 200));
    }
    if (/Something went wrong/.test(document.body.innerText || '')) out.push('"Something went wrong" shown');
    return out;
  });
}

// The share of lit pixels of each visible Cornerstone viewport canvas.
async function drawnViewports(page) {
  return page.evaluate(() => [...document.querySelectorAll('canvas.cornerstone-canvas')]
    .filter((c) => c.width > 100 && c.height > 100 && c.offsetParent !== null)
    .map((c) => {
      const w = Math.min(c.width, 256);
      const h = Math.min(c.height, 256);
      const copy = document.createElement('canvas');
      copy.width = w;
      copy.height = h;
      const ctx = copy.getContext('2d');
      ctx.drawImage(c, 0, 0, w, h);
      const d = ctx.getImageData(0, 0, w, h).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if ((d[i] + d[i + 1] + d[i + 2]) / 3 > 12) lit++;
      return { width: c.width, height: c.height, litShare: Math.round((lit / (w * h)) * 1000) / 1000 };
    }));
}

test('OHIF opens a study de-identified by radflow deid', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([CT_DIR], [[path.join(APP_DIR, 'login.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-deidviewer-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  const out = path.join(tmp, 'deid');
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps);
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let page = null;
  let seen = null;
  let passed = false;
  try {
    const original = filesUnder(CT_DIR);
    const originalStudy = studyUidOf(original[0]);
    const patientName = dicomValue(original[0], '0010,0010');
    const patientId = dicomValue(original[0], '0010,0020');
    log(await run(RADFLOW_BIN, ['deid', CT_DIR, out, '--data', dataDir]));
    const deidFiles = filesUnder(out);
    assert.equal(deidFiles.length, original.length, 'one output per input file');
    const studyUid = studyUidOf(deidFiles[0]);
    assert.notEqual(studyUid, originalStudy, 'a new study UID');
    assert.match(studyUid, /^2\.25\.\d+$/, 'a UID under 2.25 (keyed hash)');
    log(await run(RADFLOW_BIN, ['import', '--data', dataDir, out]));
    await addUser(dataDir, 'dr.v', 'radiologist', PW);
    const started = await startRadflow({
      dataDir, logFile: serverLog, args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR], env: { RADFLOW_APPS_DIR: emptyApps },
    });
    server = started.server;
    const { base } = started;

    context = await launchChromium(path.join(tmp, 'profile'), { width: 1400, height: 900 });
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, 'dr.v');
    await signIn(page, base, 'dr.v', PW);
    await page.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${studyUid}`);
    const drawn = await waitFor('the de-identified CT drawn in the viewport', async () => {
      const errors = await ohifErrors(page);
      if (errors.length) throw new Error(`OHIF shows an error: ${errors.join(' | ')}`);
      const v = await drawnViewports(page);
      return v.some((c) => c.litShare > 0.05) ? v : null;
    }, VIEW_MS, 500);
    log(`viewports: ${JSON.stringify(drawn)}`);
    await page.waitForTimeout(1000);  // let the overlays settle for the screenshot
    assert.deepEqual(await ohifErrors(page), [], 'no error dialog');
    const text = await page.evaluate(() => document.body.innerText);
    if (patientName.length >= 3) {
      for (const part of patientName.split('^').filter((p) => p.length >= 3)) {
        assert.ok(!text.includes(part), `the original patient name (${part}) is not shown`);
      }
    }
    if (patientId.length >= 3) assert.ok(!text.includes(patientId), 'the original patient ID is not shown');
    await page.screenshot({ path: path.join(ARTIFACTS, 'deid-viewer.png') });
    assert.deepEqual(seen.failures.filter((f) => f.url.startsWith('/dicom-web')), [], 'no failed /dicom-web request');
    passed = true;
  } finally {
    if (seen) {
      report('failed API answers', seen.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', seen.pageErrors); report('console errors', seen.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'deid-viewer-failure.png') }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
