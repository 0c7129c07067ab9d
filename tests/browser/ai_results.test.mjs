// Browser test: the AI engine's results in the OHIF viewer served by radflow.
//
// Starts `radflow serve` on free ports with only the engine's self-test app `test-threshold`
// (RADFLOW_ENABLE_TEST_APPS=1, the shipped clinical apps replaced by an empty folder,
// --apps tests/fixtures/engine_apps_bench), stores the IBSI lung CT (PAT1, 60 slices of
// 201 x 204) through DICOM (storescu), waits until the app's job has succeeded and stored
// its DICOM SEG (one segment, "dense"), then opens OHIF on the study and checks that
//   1. the study browser lists the SEG series (a thumbnail whose modality label reads SEG
//      and whose text shows the SEG's Series Description),
//   2. a double-click on it and "Yes" to "open this Segmentation?" loads it: the
//      segmentation panel lists "dense" and coloured overlay pixels appear over the grey CT,
//   3. the labelmap OHIF built equals, slice by slice, the SEG's frames as radflow serves
//      them (metadata + Pixel Data through its BulkDataURI),
//   4. no /dicom-web request got a 4xx/5xx and no page error mentions SEG.
//
// Known OHIF 3.13.2 bug (not radflow's): 1-bit SEG frames are packed without padding
// (PS3.5 8.1.1), so with 201 x 204 = 41004 pixels (not a multiple of 8) every odd frame
// starts at bit 4 of a byte. The dcmjs bundled in OHIF (AsyncDicomReader.
// readUncompressedBitFrame) copies such frames bit by bit MSB-first ("sourceByte >> 7 -
// sourceBitIndex"), whereas DICOM packs the first pixel in the least significant bit: frames
// starting on a byte boundary come out right, the others have their pixels shuffled within
// each row (same voxel count, wrong places). The test accepts, for those frames only,
// exactly that misreading, so it still passes once OHIF is fixed.
//
// Run: node tests/browser/ai_results.test.mjs (ctest: browser.ai_results). Needs `make setup`
// and build/radflow. Environment: as tests/browser/viewer.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ADMIN_USER, CHROMIUM, DATA, RADFLOW_BIN, REPO, WEB_DIR, authenticate, checkPrerequisites, freePort, log, run,
  signInContext, sleep, stopServer, studyUidOf, viewportPixels, waitForHealthy,
} from './lib.mjs';

const SERIES_DIR = path.join(DATA, 'dicom', 'ct_lung_ibsi_pat1', 'dicom', 'image');
const APPS_DIR = path.join(REPO, 'tests', 'fixtures', 'engine_apps_bench');
const SEGMENT_LABEL = 'dense';  // the one segment test-threshold writes
const TEST_TIMEOUT_MS = 90_000;

async function jobsOf(base) {
  const res = await fetch(`${base}/api/v1/jobs?limit=1000`);
  assert.equal(res.status, 200, 'GET /api/v1/jobs');
  const body = await res.json();
  return Array.isArray(body) ? body : body.jobs;
}

// Polls the job list until the test-threshold job has finished; returns that job.
async function waitForJob(base, deadline) {
  let last = null;
  while (Date.now() < deadline) {
    last = (await jobsOf(base)).filter((j) => j.app_id === 'test-threshold');
    const done = last.find((j) => ['succeeded', 'failed', 'cancelled'].includes(j.state));
    if (done) return done;
    await sleep(200);
  }
  throw new Error(`test-threshold job not finished in time: ${JSON.stringify(last)}`);
}

// Pixels of the main viewport (the largest visible canvas) that are clearly coloured: the CT
// is grey, so these are the segmentation overlay. Counts the whole canvas, unscaled.
async function overlayPixels(page) {
  return page.evaluate(() => {
    const c = [...document.querySelectorAll('canvas')]
      .filter((x) => x.width > 64 && x.height > 64 && x.offsetParent !== null)
      .sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (!c) return { coloured: -1 };
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      const max = Math.max(d[i], d[i + 1], d[i + 2]);
      const min = Math.min(d[i], d[i + 1], d[i + 2]);
      if (max - min > 60) coloured++;
    }
    return { coloured, width: c.width, height: c.height };
  });
}

function sameSet(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// The SEG's frames as radflow serves them: the metadata (which CT each frame belongs to, PS3.3
// C.7.6.16.2.6 Derivation Image) and the Pixel Data through its BulkDataURI, unpacked as
// PS3.5 8.1.1 packs 1-bit pixels: frame after frame without padding, first pixel in the
// least significant bit. Also what dcmjs makes of frames that start mid-byte (dcmjsSet).
async function segFrames(base, studyUid, seriesUid) {
  const res = await fetch(`${base}/dicom-web/studies/${studyUid}/series/${seriesUid}/metadata`,
                          { headers: { Accept: 'application/dicom+json' } });
  assert.equal(res.status, 200, 'SEG metadata');
  const ds = (await res.json())[0];
  const rows = ds['00280010'].Value[0];
  const columns = ds['00280011'].Value[0];
  assert.equal(ds['00280100'].Value[0], 1, 'SEG Bits Allocated');
  const bulk = await fetch(new URL(ds['7FE00010'].BulkDataURI, base), {
    headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
  });
  assert.equal(bulk.status, 200, 'SEG Pixel Data through its BulkDataURI');
  const body = new Uint8Array(await bulk.arrayBuffer());
  const n = rows * columns;
  const perFrame = ds['52009230'].Value;
  const totalBytes = Math.ceil((n * perFrame.length) / 8);
  // The single multipart part: the bytes between the first blank line and the closing boundary.
  const text = Buffer.from(body).toString('latin1');
  const begin = text.indexOf('\r\n\r\n') + 4;
  const bytes = body.subarray(begin, begin + totalBytes);
  assert.equal(bytes.length, totalBytes, 'SEG Pixel Data length');
  const bit = (i) => (bytes[i >> 3] >> (i & 7)) & 1;
  const msbBit = (i) => (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  const frames = perFrame.map((item, index) => {
    const sop = item['00089124'].Value[0]['00082112'].Value[0]['00081155'].Value[0];
    const bitOffset = index * n;
    const set = [];
    const dcmjsSet = [];
    for (let i = 0; i < n; i++) {
      if (bit(bitOffset + i)) set.push(i);
      // dcmjs copies bit i of the frame MSB-first into byte i>>3, bit 7-(i&7); then
      // BitArray.unpack reads that byte LSB-first.
      const j = (i & ~7) | (7 - (i & 7));
      if (j < n && msbBit(bitOffset + j)) dcmjsSet.push(i);
    }
    return { index, sop, bitOffset, set, dcmjsSet };
  });
  return { rows, columns, frames };
}

test('OHIF shows the DICOM SEG the AI engine stored', { timeout: TEST_TIMEOUT_MS + 30_000 }, async () => {
  checkPrerequisites([SERIES_DIR, APPS_DIR]);
  const deadline = Date.now() + TEST_TIMEOUT_MS;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-browser-ai-'));
  log(`temp folder ${tmp}`);
  const emptyApps = path.join(tmp, 'no-clinical-apps');
  fs.mkdirSync(emptyApps);
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let passed = false;
  const dicomwebResponses = [];  // {method, url, status, ms}
  const dicomwebFailures = [];   // 4xx/5xx
  const networkErrors = [];
  const pageErrors = [];
  const consoleErrors = [];

  try {
    // --- radflow with the engine's self-test app only ---------------------------------------
    authenticate(path.join(tmp, 'data'), base);  // an administrator; the browser signs in below
    const logFd = fs.openSync(serverLog, 'a');
    server = spawn(RADFLOW_BIN, [
      'serve', '--data', path.join(tmp, 'data'), '--http-address', '127.0.0.1',
      '--http-port', String(httpPort), '--dicom-port', String(dicomPort),
      '--web-dir', WEB_DIR, '--apps', APPS_DIR, '--stable-seconds', '1',
    ], {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, RADFLOW_ENABLE_TEST_APPS: '1', RADFLOW_APPS_DIR: emptyApps },
    });
    fs.closeSync(logFd);
    await waitForHealthy(base, server, Math.min(deadline, Date.now() + 30_000));
    log(`radflow up on ${base} (DICOM port ${dicomPort})`);

    // --- the CT, through C-STORE; the engine segments it ------------------------------------
    const files = fs.readdirSync(SERIES_DIR).filter((f) => f.endsWith('.dcm')).sort()
      .map((f) => path.join(SERIES_DIR, f));
    assert.ok(files.length >= 20, `test-threshold needs >= 20 slices, ${SERIES_DIR} has ${files.length}`);
    const studyUid = studyUidOf(files[0]);
    const t0 = Date.now();
    await run('storescu', ['-aet', 'BROWSERTEST', '-aec', 'RADFLOW', '127.0.0.1',
                           String(dicomPort), ...files],
              { env: { ...process.env, TCP_NODELAY: '1' } });
    log(`stored ${files.length} instances of study ${studyUid} in ${Date.now() - t0} ms`);
    const job = await waitForJob(base, deadline);
    assert.equal(job.state, 'succeeded', `test-threshold job: ${JSON.stringify(job)}`);
    const seg = (job.results?.objects || []).find((o) => o.kind === 'seg');
    assert.ok(seg && seg.series_uid, `no SEG among the job's results: ${JSON.stringify(job.results)}`);
    log(`job ${job.id} succeeded ${Date.now() - t0} ms after the first C-STORE; SEG series ${seg.series_uid}`);
    const segSeriesRes = await fetch(`${base}/dicom-web/studies/${studyUid}/series?SeriesInstanceUID=${seg.series_uid}`,
                                     { headers: { Accept: 'application/dicom+json' } });
    assert.equal(segSeriesRes.status, 200, 'QIDO of the SEG series');
    const segSeries = (await segSeriesRes.json())[0];
    assert.equal(segSeries['00080060']?.Value?.[0], 'SEG', 'modality of the stored SEG series');
    const segDescription = segSeries['0008103E']?.Value?.[0] || '';
    log(`SEG series description: "${segDescription}"`);

    // --- the browser ---------------------------------------------------------------------------
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

    const tViewer = Date.now();
    await page.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${studyUid}`, { waitUntil: 'domcontentloaded' });

    // 1. The study browser lists the SEG series: a thumbnail whose modality label reads SEG.
    const segThumb = page.locator('[data-cy="study-browser-thumbnail"], [data-cy="study-browser-thumbnail-no-image"]')
      .filter({ has: page.locator('[data-cy="series-modality-label"]', { hasText: /^\s*SEG\s*$/ }) });
    await segThumb.first().waitFor({ state: 'visible', timeout: 30_000 }).catch(async (e) => {
      fs.writeFileSync(path.join(tmp, 'no-seg-thumbnail.html'), await page.content());
      await page.screenshot({ path: path.join(tmp, 'no-seg-thumbnail.png') }).catch(() => {});
      throw e;
    });
    const thumbText = (await segThumb.first().innerText()).replace(/\s+/g, ' ').trim();
    log(`SEG thumbnail listed ${Date.now() - tViewer} ms after navigation: "${thumbText}"`);
    if (segDescription) assert.ok(thumbText.includes(segDescription), `thumbnail text "${thumbText}" shows "${segDescription}"`);

    // The CT drawn first, as the baseline the segmentation must change.
    let before = null;
    for (;;) {
      before = await viewportPixels(page).catch((e) => ({ error: e.message }));
      const v = before.viewport;
      if (v && v.width >= 400 && v.litShare > 0.05 && v.levels >= 16) break;
      if (Date.now() > deadline) throw new Error(`no CT image in the viewport in time: ${JSON.stringify(before)}`);
      await sleep(250);
    }
    log(`CT drawn ${Date.now() - tViewer} ms after navigation: ${JSON.stringify(before.viewport)}`);
    await page.screenshot({ path: path.join(tmp, 'ct.png') });

    // 2. Load the SEG: double-click its thumbnail. OHIF 3 first draws it as a preview over its
    // CT and asks "Do you want to open this Segmentation?"; Yes hydrates it.
    const tSeg = Date.now();
    const colouredBefore = await overlayPixels(page);
    await segThumb.first().dblclick();
    await page.getByRole('button', { name: 'Yes', exact: true }).click({ timeout: 20_000 });
    // The segmentation panel lists the segment by its label.
    await page.locator('[data-cy="panelSegmentation-btn"]').click({ timeout: 10_000 });
    await page.getByText(SEGMENT_LABEL, { exact: true }).first()
      .waitFor({ state: 'visible', timeout: 20_000 });
    log(`segment "${SEGMENT_LABEL}" listed in the segmentation panel ${Date.now() - tSeg} ms after the double-click`);
    let coloured = null;
    while (Date.now() < deadline) {
      coloured = await overlayPixels(page);
      if (coloured.coloured > 500) break;
      await sleep(250);
    }
    log(`coloured viewport pixels: ${colouredBefore.coloured} before, ${coloured.coloured} with the SEG`);
    assert.ok(colouredBefore.coloured < 50, `the plain CT is grey: ${JSON.stringify(colouredBefore)}`);
    assert.ok(coloured.coloured > 500, `the segmentation is drawn over the CT: ${JSON.stringify(coloured)}`);
    await page.screenshot({ path: path.join(tmp, 'seg.png') });

    // 3. The labelmap OHIF built, slice by slice, against the SEG's own frames.
    const expected = await segFrames(base, studyUid, seg.series_uid);
    const shown = await page.evaluate(() => {
      const cs = window.cornerstone;
      const segs = window.cornerstoneTools.segmentation.state.getSegmentations();
      const lm = segs[0].representationData.Labelmap;
      return {
        segments: Object.values(segs[0].segments).map((x) => x.label),
        slices: lm.imageIds.map((id) => {
          const image = cs.cache.getImage(id);
          const sop = image.referencedImageId.match(/instances\/([0-9.]+)\//)[1];
          const set = [];
          image.getPixelData().forEach((v, i) => { if (v) set.push(i); });
          return { sop, set };
        }),
      };
    });
    assert.deepEqual(shown.segments, [SEGMENT_LABEL], 'segments of the loaded segmentation');
    assert.equal(shown.slices.length, expected.frames.length, 'one labelmap slice per SEG frame');
    let exact = 0;
    const misread = [];
    for (const frame of expected.frames) {
      const slice = shown.slices.find((x) => x.sop === frame.sop);
      assert.ok(slice, `a labelmap slice for CT ${frame.sop}`);
      if (sameSet(slice.set, frame.set)) {
        exact++;
      } else {
        // OHIF 3.13.2's dcmjs reads a frame that starts inside a byte MSB-first (see header).
        assert.ok(frame.bitOffset % 8 !== 0 && sameSet(slice.set, frame.dcmjsSet),
                  `labelmap of frame ${frame.index} (bit offset ${frame.bitOffset}): ` +
                  `${slice.set.length} voxels shown, ${frame.set.length} in the SEG`);
        misread.push(frame.index);
      }
    }
    const voxels = expected.frames.reduce((n, f) => n + f.set.length, 0);
    log(`labelmap: ${exact} of ${expected.frames.length} slices equal the SEG (${voxels} voxels in all); ` +
        `${misread.length} frames starting mid-byte misread by OHIF's dcmjs`);

    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    assert.ok(dicomwebResponses.some((r) => r.url.includes(seg.series_uid) && r.status === 200),
              'the SEG was fetched through /dicom-web');
    assert.deepEqual(dicomwebFailures, [], 'failed /dicom-web requests');
    const segErrors = pageErrors.filter((e) => /seg/i.test(e));
    assert.deepEqual(segErrors, [], 'page errors about the SEG');
    passed = true;
  } finally {
    if (!passed) {
      const report = (title, items) => {
        if (items.length) console.log(`--- ${title} (${items.length}):\n${items.slice(0, 40).join('\n')}`);
      };
      report('failed /dicom-web requests', dicomwebFailures.map(
        (f) => `${f.status} ${f.method} ${f.url}${f.body ? `\n    ${f.body}` : ''}`));
      report('/dicom-web responses', dicomwebResponses.filter((r) => !r.url.includes('/frames/') || r.status >= 400)
        .map((r) => `${r.status} ${r.method} ${r.url} ${r.ms} ms`));
      report('requests without answer', networkErrors);
      report('page errors', pageErrors);
      report('console errors', consoleErrors);
      if (fs.existsSync(serverLog)) {
        console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      }
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch((e) => log(`closing chromium: ${e.message}`));
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) {
      fs.rmSync(path.join(tmp, 'data'), { recursive: true, force: true });
      fs.rmSync(path.join(tmp, 'chromium-profile'), { recursive: true, force: true });
    }
  }
});
