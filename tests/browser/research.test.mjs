// Browser test: the research hub (issue 18) in Debian's Chromium, against a real radflow.
//
// `radflow user add` makes the researcher "res"; the IBSI lung CT (PAT1, 60 slices) is stored
// through DICOM. In the browser, as res:
//   1. the header has Research only (no worklist, no viewer); "/" leads to /research; a
//      clinical page says it is not for the role, and the worklist REST answers 403;
//   2. the cohort builder's live counts: modality CT → 1 patient, 1 study, 1 series,
//      60 instances; modality MR → 0 studies;
//   3. the CT cohort saved as "lung-ct" shows version 1, listed with its counts;
//   4. exported (DICOM + CSV, Basic Profile) with the progress bar polling until done; the
//      download link gives a tar holding manifest.json, the CSV table and one de-identified
//      DICOM file per instance; the original patient name (and the ID, when it is long
//      enough to search for) is nowhere in its bytes, and an exported file has a new
//      PatientID, PatientName and StudyInstanceUID.
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): research.png,
// research-export.png.
//
// Run: node tests/browser/research.test.mjs (ctest: browser.research). Needs `make setup`
// (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, REPO, WEB_DIR, checkPrerequisites, dicomFiles, launchChromium, log, startRadflow, stopServer, storeFiles,
} from './lib.mjs';
import { addUser, report, signIn, waitFor, watch } from './signin.mjs';

const CT_DIR = path.join(DATA, 'dicom', 'ct_lung_ibsi_pat1', 'dicom', 'image');
const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const TEST_TIMEOUT_MS = 300_000;
const EXPORT_MS = 180_000;
const PW = 'researcher passphrase 1';

function dicomValue(file, tag) {
  const out = execFileSync('dcmdump', ['+P', tag, file], { encoding: 'utf8' });
  const m = /\[([^\]]*)\]/.exec(out);
  return m ? m[1].trim() : '';
}

// The member names of a (ustar/GNU) tar.
function tarNames(buf) {
  const names = [];
  let off = 0;
  let longName = null;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a, b) => h.subarray(a, b).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156]);
    const body = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = body.toString('latin1').replace(/\0.*$/s, '');
    else if (type !== 'x' && type !== 'g') {
      const prefix = str(345, 500);
      names.push(longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100)));
      longName = null;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

const count = (page, k) => page.getByTestId('preview-counts').locator(`[data-count="${k}"]`).innerText();

test('research hub: researcher builds a cohort with counts, exports it, downloads it', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([CT_DIR], [[path.join(APP_DIR, 'login.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-research-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps);
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let page = null;
  let seen = null;
  let passed = false;
  try {
    await addUser(dataDir, 'res', 'researcher', PW);
    const started = await startRadflow({
      dataDir, logFile: serverLog,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--stable-seconds', '1'], env: { RADFLOW_APPS_DIR: emptyApps },
    });
    server = started.server;
    const { base } = started;
    const files = dicomFiles(CT_DIR);
    const patientId = dicomValue(files[0], '0010,0020');
    const patientName = dicomValue(files[0], '0010,0010');
    const originalStudy = dicomValue(files[0], '0020,000d');
    await storeFiles(started.dicomPort, files);
    log(`stored ${files.length} files of patient ${patientId}`);

    context = await launchChromium(path.join(tmp, 'profile'));
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, 'res');

    // 1. only Research
    await signIn(page, base, 'res', PW);
    await waitFor('on /research', async () => new URL(page.url()).pathname === '/research', 5_000);
    assert.deepEqual(await page.getByTestId('nav').locator('a').allInnerTexts(), ['Research']);
    assert.equal(await page.getByTestId('user-role').innerText(), 'researcher');
    const worklist = await page.evaluate(() => fetch('/api/v1/worklist').then((r) => r.status));
    assert.equal(worklist, 403, 'the worklist REST refuses a researcher');
    await page.goto(`${base}/worklist`);
    await page.getByTestId('forbidden').waitFor({ timeout: 10_000 });
    await page.getByTestId('nav-research').click();

    // 2. live counts
    const builder = page.getByTestId('cohort-builder');
    await builder.waitFor({ timeout: 10_000 });
    await page.getByTestId('c-modality').fill('CT');
    await waitFor('counts of the CT', async () => (await count(page, 'studies')) === '1' && (await count(page, 'instances')) === '60', 30_000, 300);
    assert.equal(await count(page, 'patients'), '1');
    assert.equal(await count(page, 'series'), '1');
    await page.getByTestId('c-modality').fill('MR');
    await waitFor('no MR study', async () => (await count(page, 'studies')) === '0', 10_000, 200);
    await page.getByTestId('c-modality').fill('CT');
    await waitFor('the CT again', async () => (await count(page, 'studies')) === '1', 10_000, 200);

    // 3. save
    await page.getByTestId('cohort-name').fill('lung-ct');
    await page.getByTestId('save-cohort').click();
    await waitFor('saved as version 1', async () => /Saved cohort lung-ct version 1/.test(await page.getByTestId('message').innerText()), 10_000);
    const row = page.locator('tr[data-cohort="lung-ct"]');
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /v1/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'research.png'), fullPage: true });

    // 4. export and download
    await page.getByTestId('choose-lung-ct').check();
    await page.getByTestId('export-panel').waitFor();
    await page.getByTestId('fmt-nifti').uncheck();
    await page.getByTestId('start-export').click();
    const progress = page.getByTestId('export-progress');
    await progress.waitFor({ timeout: 10_000 });
    const statuses = new Set();
    await waitFor('export done', async () => {
      const s = await progress.getAttribute('data-status');
      statuses.add(s);
      if (s === 'failed') throw new Error(`export failed: ${await progress.innerText()}`);
      return s === 'done';
    }, EXPORT_MS, 250);
    log(`export statuses seen: ${[...statuses].join(', ')}`);
    assert.match(await progress.innerText(), /done/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'research-export.png'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
    const tarPath = path.join(tmp, 'export.tar');
    await download.saveAs(tarPath);
    const tar = fs.readFileSync(tarPath);
    const names = tarNames(tar);
    log(`downloaded ${tar.length} bytes, ${names.length} members`);
    assert.ok(names.some((n) => path.basename(n) === 'manifest.json'), `manifest.json in the tar: ${names.slice(0, 20)}`);
    const dicomCount = names.filter((n) => /\.dcm$/i.test(n)).length;
    assert.equal(dicomCount, files.length, `every instance de-identified in the tar (${dicomCount})`);
    assert.ok(names.some((n) => /\.csv$/i.test(n)), 'the CSV table');
    if (patientId.length >= 3) assert.equal(tar.indexOf(Buffer.from(patientId)), -1, `the original patient ID ${patientId} is not in the export`);
    // an exported instance: new patient ID and name, a new study UID
    const unpacked = path.join(tmp, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xf', tarPath, '-C', unpacked]);
    const member = path.join(unpacked, names.find((n) => /\.dcm$/i.test(n)));
    assert.notEqual(dicomValue(member, '0010,0020'), patientId, 'the exported PatientID is a pseudonym');
    assert.notEqual(dicomValue(member, '0010,0010'), patientName, 'the exported PatientName is not the original');
    assert.notEqual(dicomValue(member, '0020,000d'), originalStudy, 'the exported StudyInstanceUID is a new one');
    if (patientName.length >= 3) assert.equal(tar.indexOf(Buffer.from(patientName)), -1, 'the original patient name is not in the export');
    assert.deepEqual(seen.failures.filter((f) => !(f.status === 403 && f.url === '/api/v1/worklist')), [],
      'no failed API calls (besides the 403 asked on purpose)');
    assert.deepEqual(seen.pageErrors, [], 'no errors in the page');
    passed = true;
  } finally {
    if (seen) {
      report('failed API answers', seen.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', seen.pageErrors); report('console errors', seen.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'research-failure.png'), fullPage: true }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
