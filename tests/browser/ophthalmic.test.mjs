// Browser test: OHIF shows fundus photographs stored by `radflow op import` (issue 17,
// docs/ophthalmic.md), in Debian's Chromium.
//
// Before the server starts, `radflow op import --data D` stores into one study: the shared
// colour photograph (skimage retina.jpg, copied as JPEG Baseline, OP 8 Bit, YBR_FULL_422)
// and a 16-bit grey PNG made from it (OP 16 Bit, made here with Pillow through python3).
// The viewer opens the study at /ohif/viewer?StudyInstanceUIDs=…; checks: the viewport
// draws the photograph (lit pixels and grey levels), both series are listed, no OHIF error
// dialog, no failed /dicom-web request, no page or console error; then the 16-bit series is
// shown too (the viewport turns from colour to grey: see GREY_SHARE).
// The web app's study page (/study/UID) shows the conformance panel: every instance meets
// the checked requirements of its IOD.
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): ophthalmic-*.png.
//
// Run: node tests/browser/ophthalmic.test.mjs (ctest: browser.ophthalmic). Needs `make setup`,
// build/radflow, web/dist (make) and /usr/bin/python3 with Pillow (Debian python3-pil).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, RADFLOW_BIN, REPO, WEB_DIR, checkPrerequisites, launchChromium, log, run, signInContext,
  startRadflow, stopServer, viewportPixels,
} from './lib.mjs';
import { report, waitFor, watch } from './signin.mjs';

const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const RETINA = path.join(DATA, 'ophthalmic', 'skimage_retina', 'retina.jpg');
const VIEW_MS = 60_000;
// "Drawn": at least this share of the viewport's pixels lit (mean > 12 of 255; the fundus
// disc fills about 60 % of the square photograph, the viewport is wider than tall) and at
// least this many distinct grey levels (6 bits) — an empty or flat viewport has a handful.
const DRAWN_LIT = 0.2;
const DRAWN_LEVELS = 16;
// Grey or colour, on the viewport's lit pixels (mean > 12 of 255): a pixel is grey when its
// R, G and B differ by at most GREY_SPREAD of 255. The colour photograph (red-orange fundus)
// has almost none; the 16-bit grey one drawn through a grey VOI has R = G = B. The 16-bit
// series counts as shown when at least GREY_SHARE of the lit pixels are grey, and the colour
// one as colour when at most COLOUR_GREY_SHARE are.
const GREY_SPREAD = 4;
const GREY_SHARE = 0.9;
const COLOUR_GREY_SHARE = 0.2;

// Share of the lit pixels of the largest visible canvas (the viewport) that are grey.
async function greyShare(page) {
  return page.evaluate((spread) => {
    const c = [...document.querySelectorAll('canvas')]
      .filter((el) => el.width > 64 && el.height > 64 && el.offsetParent !== null)
      .sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (!c) return null;
    const w = Math.min(c.width, 512);
    const h = Math.min(c.height, 512);
    const copy = document.createElement('canvas');
    copy.width = w;
    copy.height = h;
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    let lit = 0;
    let grey = 0;
    for (let i = 0; i < d.length; i += 4) {
      if ((d[i] + d[i + 1] + d[i + 2]) / 3 <= 12) continue;
      lit++;
      if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) <= spread) grey++;
    }
    return lit ? Math.round((grey / lit) * 1000) / 1000 : null;
  }, GREY_SPREAD);
}

async function ohifErrors(page) {
  return page.evaluate(() => {
    const out = [];
    const visible = (el) => el.offsetParent !== null || el.getClientRects().length > 0;
    for (const el of document.querySelectorAll('[role="dialog"], [role="alertdialog"], .modal, [class*="ErrorBoundary"], [data-sonner-toast][data-type="error"]')) {
      if (visible(el) && /error|wrong|failed|cannot|unable/i.test(el.textContent || '')) out.push(el.textContent.trim().slice(0, 200));
    }
    if (/Something went wrong/.test(document.body.innerText || '')) out.push('"Something went wrong" shown');
    return out;
  });
}

async function opImport(dataDir, image, ...args) {
  const out = await run(RADFLOW_BIN, ['op', 'import', image, '--data', dataDir, '--format', 'json', ...args]);
  return JSON.parse(out);
}

test('OHIF shows fundus photographs stored by radflow op import', { timeout: 200_000 }, async () => {
  checkPrerequisites([path.dirname(RETINA)], [[path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-ophthalmic-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let page = null;
  let seen = null;
  let passed = false;
  try {
    const png16 = path.join(tmp, 'retina16.png');
    execFileSync('/usr/bin/python3', ['-c', [
      'import sys, numpy as np; from PIL import Image',
      'a = np.asarray(Image.open(sys.argv[1]).convert("L")).astype(np.uint16) * 257',
      'Image.fromarray(a).save(sys.argv[2])'].join('\n'), RETINA, png16]);
    const colour = await opImport(dataDir, RETINA, '--laterality', 'R', '--patient-id', 'OP-BROWSER',
                                  '--patient-name', 'FUNDUS^BROWSER', '--series-description', 'Fundus colour');
    const studyUid = colour.study_instance_uid;
    const grey = await opImport(dataDir, png16, '--laterality', 'R', '--patient-id', 'OP-BROWSER',
                                '--patient-name', 'FUNDUS^BROWSER', '--study-uid', studyUid,
                                '--series-description', 'Fundus 16-bit grey');
    log(`stored ${colour.sop_class_uid} (${colour.transfer_syntax_uid}, ${colour.photometric_interpretation}) and ` +
        `${grey.sop_class_uid} (${grey.bits_allocated}-bit ${grey.photometric_interpretation}) in study ${studyUid}`);
    assert.equal(colour.copied, true, 'the JPEG was copied');
    assert.equal(grey.bits_allocated, 16);

    fs.mkdirSync(path.join(tmp, 'no-apps'));
    const started = await startRadflow({ dataDir, logFile: serverLog, auth: true,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR], env: { RADFLOW_APPS_DIR: path.join(tmp, 'no-apps') } });
    server = started.server;
    const { base } = started;

    context = await launchChromium(path.join(tmp, 'profile'), { width: 1400, height: 900 });
    await signInContext(context, base, 'admin');
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, 'ohif');
    const frameUrls = [];
    page.on('response', (r) => { if (r.status() === 200 && r.url().includes('/frames/')) frameUrls.push(r.url()); });
    const t0 = Date.now();
    await page.goto(`${base}/ohif/viewer?StudyInstanceUIDs=${studyUid}`);
    const drawn = await waitFor('the photograph drawn in the viewport', async () => {
      const errors = await ohifErrors(page);
      if (errors.length) throw new Error(`OHIF shows an error: ${errors.join(' | ')}`);
      const v = (await viewportPixels(page)).viewport;
      return v && v.litShare > DRAWN_LIT && v.levels >= DRAWN_LEVELS ? v : null;
    }, VIEW_MS, 500);
    log(`drawn ${Date.now() - t0} ms after navigation: ${JSON.stringify(drawn)}`);
    const colourGrey = await greyShare(page);
    log(`colour photograph: grey share of lit pixels ${colourGrey}`);
    assert.ok(colourGrey !== null && colourGrey <= COLOUR_GREY_SHARE,
              `the colour photograph is drawn in colour (grey share ${colourGrey} > ${COLOUR_GREY_SHARE})`);
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await page.screenshot({ path: path.join(ARTIFACTS, 'ophthalmic-viewer.png') });
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(text.includes('Fundus colour') && text.includes('Fundus 16-bit grey'), 'both series listed');

    // The 16-bit series: double-click its thumbnail into the viewport.
    const thumb = page.getByText('Fundus 16-bit grey').first();
    await thumb.dblclick();
    const frames16 = () => frameUrls.filter((u) => u.includes(grey.sop_instance_uid)).length;
    // Drawn means the viewport turned grey: the colour image it showed before was lit with
    // as many levels, so only the colour change proves the 16-bit image is on screen.
    const shown16 = await waitFor('the 16-bit photograph fetched and drawn (the viewport turns grey)', async () => {
      const v = (await viewportPixels(page)).viewport;
      if (!(frames16() > 0 && v && v.litShare > DRAWN_LIT && v.levels >= DRAWN_LEVELS)) return null;
      const g = await greyShare(page);
      return g !== null && g >= GREY_SHARE ? { ...v, greyShare: g } : null;
    }, VIEW_MS, 500);
    log(`16-bit photograph shown: ${JSON.stringify(shown16)}`);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, 'ophthalmic-viewer-16bit.png') });
    assert.deepEqual(await ohifErrors(page), [], 'no error dialog');
    assert.deepEqual(seen.failures.filter((f) => f.url.startsWith('/dicom-web')), [], 'no failed /dicom-web request');
    assert.deepEqual(seen.pageErrors, [], 'no page error');
    assert.deepEqual(seen.consoleErrors, [], 'no console error');

    // The study page of the web app: the conformance panel.
    await page.goto(`${base}/study/${studyUid}`);
    const summary = await waitFor('the conformance summary', async () => {
      const el = page.getByTestId('conformance-summary');
      return (await el.count()) ? el.textContent() : null;
    }, 20_000, 250);
    log(`study page: ${summary}`);
    assert.equal(summary, 'All 2 instances meet the checked requirements of their IOD.');
    await page.screenshot({ path: path.join(ARTIFACTS, 'ophthalmic-study-page.png'), fullPage: true });
    passed = true;
  } finally {
    if (seen) {
      report('failed API answers', seen.failures.map((f) => `${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', seen.pageErrors); report('console errors', seen.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'ophthalmic-failure.png') }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
