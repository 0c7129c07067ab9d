// Browser test: OHIF 3.13's microscopy mode (dicom-microscopy-viewer) opens slides stored in
// radflow (issue 17), in Debian's Chromium.
//
// One `radflow serve` with a fresh data directory; slides stored by `radflow import` (the
// ingest path of C-STORE and STOW-RS) before it starts:
//   - CMU-1-Small-Region.svs converted by Debian's OrthancWSIDicomizer (--pyramid=1, its
//     --sample-dataset: five levels, 2220×2967 down to 139×186, JPEG baseline tiles);
//   - the same slide converted by `radflow wsi import --out` (docs/wsi-import.md): five
//     levels, THUMBNAIL, LABEL, OVERVIEW (OHIF puts the THUMBNAIL into the pyramid: it must
//     not share a level's zoom factor, docs/wsi.md);
//   - highdicom's sm_image.dcm and openslide-python's boxes_0.dcm (one level each).
// Also stored, not opened in the viewer: pathml_negative/small_dicom.dcm (non-conformant: no
// ImageType, no OpticalPathSequence; only its study page's conformance panel is checked).
// Each of the four slides is opened at /ohif/microscopy?StudyInstanceUIDs=…, within its own
// time budget (SLIDE_MS: a slow run fails naming the slide and the step); checks: the
// viewport shows the slide (coloured/lit pixels in a screenshot of the viewport, thresholds
// below), no OHIF error dialog (nor an error its error boundary caught), no failed
// /dicom-web request, no page error, no console error (strict: CONSOLE_ALLOWED lists the
// messages excused, with why). For the pyramids: zooming in (mouse wheel) fetches tiles of
// the finest level (level 0), panning (OHIF's Pan tool, a drag) fetches further tiles of it,
// zooming out again shows the whole slide; tiles of at least two levels are fetched — the
// viewer moves across the pyramid. Also: radflow's study list (/studies) links a slide
// study to the microscopy mode, and the web app's study page lists the conformance problems
// of the pathml slide (GET /api/v1/studies/{study}/conformance).
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): microscopy-<slide>-*.png.
//
// Run: node tests/browser/microscopy.test.mjs (ctest: browser.microscopy). Needs `make setup`
// (scripts/setup_web.sh keeps OHIF's dicom-microscopy-viewer), build/radflow and
// OrthancWSIDicomizer (scripts/setup.sh installs orthanc-wsi).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, RADFLOW_BIN, REPO, WEB_DIR, checkPrerequisites, launchChromium, log, run, signInContext, sleep, startRadflow,
  stopServer,
} from './lib.mjs';
import { report, watch } from './signin.mjs';

// Polls fn until it returns a truthy value; an exception (an OHIF error) ends the wait at once.
// With a budget (slideBudget), the wait also ends when the slide's time is spent.
async function waitFor(what, fn, timeoutMs, intervalMs = 200, budget = null) {
  const own = Date.now() + timeoutMs;
  const until = budget ? Math.min(own, budget.deadline) : own;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) {
      if (budget && until < own) {
        throw new Error(`${what}: the slide's budget of ${budget.ms / 1000} s (SLIDE_MS) was spent ` +
                        `${Math.round((Date.now() - budget.start) / 1000)} s after it opened`);
      }
      throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
    await sleep(intervalMs);
  }
}

// Each slide's time: open, draw, zoom, pan, zoom out. A slide here takes 5–15 s on a
// 2-core machine with software WebGL; the budget leaves room for a slow run and fails
// clearly (naming the slide and the step) instead of running into the test's timeout.
const SLIDE_MS = 75_000;
const slideBudget = () => ({ ms: SLIDE_MS, start: Date.now(), deadline: Date.now() + SLIDE_MS });
// The whole test: four slides, plus 120 s for the two conversions (OrthancWSIDicomizer,
// radflow wsi import: ~15 s), the server and Chromium starting and the two page checks.
// cmake/web.cmake gives ctest 480 s, more than this (420 s), so node reports the failure.
const TEST_MS = 4 * SLIDE_MS + 120_000;

// Console errors excused, each with the reason it is harmless. None has been seen in
// headless Chromium (Debian chromium, OHIF 3.13.2) so far: add an entry only for a message
// seen in a run, matched as narrowly as possible.
const CONSOLE_ALLOWED = [];
const consoleErrorsThatMatter = (errors) =>
  errors.filter((e) => !CONSOLE_ALLOWED.some(({ pattern }) => pattern.test(String(e))));

const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const WSI = path.join(DATA, 'wsi');
const CMU1 = path.join(WSI, 'cmu1_small_region_svs', 'CMU-1-Small-Region.svs');
const DICOMIZER = process.env.ORTHANC_WSI_DICOMIZER || '/usr/bin/OrthancWSIDicomizer';
const VIEW_MS = 60_000;
// A pixel counts as "coloured" (stained tissue) when its channels differ by more than this
// (0..255): the empty viewport (black) and the glass background (white/grey) do not; "lit"
// when its mean is above LIT_MIN (the empty viewport is black).
const CHROMA_MIN = 30;
const LIT_MIN = 40;
// What "drawn" means: at least this share of the viewport lit (the one-level test slides are
// 16 and 50 pixels square, drawn about 410 px wide in a 1070×840 viewport: 0.19) and at
// least this many distinct colours; for the H&E pyramid also this share coloured.
const DRAWN_LIT = 0.1;
const DRAWN_COLOURS = 8;
const TISSUE_COLOURED = 0.05;

function dicomValue(file, tag) {
  const out = execFileSync('dcmdump', ['+P', tag, file], { encoding: 'utf8' });
  const m = /\[([^\]]*)\]/.exec(out) || /\s(\d+)\s+#/.exec(out);
  return m ? m[1].trim() : '';
}

function dcmFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(dir, f));
}

// SOP Instance UID -> {columns, rows} of the total pixel matrix, for the files of a slide.
function levelsOf(files) {
  const levels = new Map();
  for (const f of files) {
    const columns = Number(dicomValue(f, '0048,0006'));
    const rows = Number(dicomValue(f, '0048,0007'));
    if (columns > 0) levels.set(dicomValue(f, '0008,0018'), { columns, rows, file: path.basename(f) });
  }
  return levels;
}

function opensLibrary() {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']) {
    try {
      const lib = fs.readdirSync(dir).find((f) => /^libopenslide\.so\.\d+$/.test(f));
      if (lib) return path.join(dir, lib);
    } catch { /* next */ }
  }
  return null;
}

// OHIF's error displays: its error boundary, dialogs and error toasts.
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

// The slide viewport: the largest visible element holding the microscopy viewer's map.
async function viewportBox(page) {
  return page.evaluate(() => {
    const maps = [...document.querySelectorAll('.ol-viewport, [data-viewport-uid], .DicomMicroscopyViewer')]
      .map((el) => el.getBoundingClientRect())
      .filter((r) => r.width > 200 && r.height > 200)
      .sort((a, b) => b.width * b.height - a.width * a.height);
    if (!maps.length) return null;
    const r = maps[0];
    return { x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height) };
  });
}

// Share of coloured pixels and number of distinct colours (6 bits per channel) in a
// screenshot of the viewport (read back in the page: WebGL canvases cannot be read directly).
async function viewportColours(page, box) {
  const png = await page.screenshot({ clip: box });
  return page.evaluate(async ({ b64, limits }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    let lit = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      const mx = Math.max(d[i], d[i + 1], d[i + 2]);
      const mn = Math.min(d[i], d[i + 1], d[i + 2]);
      if (mx - mn > limits.chroma) coloured++;
      if ((d[i] + d[i + 1] + d[i + 2]) / 3 > limits.lit) lit++;
      colours.add(((d[i] >> 2) << 12) | ((d[i + 1] >> 2) << 6) | (d[i + 2] >> 2));
    }
    const n = d.length / 4;
    const share = (k) => Math.round((k / n) * 1000) / 1000;
    return { litShare: share(lit), colouredShare: share(coloured), colours: colours.size };
  }, { b64: png.toString('base64'), limits: { chroma: CHROMA_MIN, lit: LIT_MIN } });
}

// Frames fetched, per SOP Instance UID: Set of frame numbers.
function frameLog(page) {
  const byInstance = new Map();
  page.on('response', (res) => {
    const m = /\/instances\/([0-9.]+)\/frames\/([0-9,]+)/.exec(new URL(res.url()).pathname);
    if (!m || res.status() !== 200) return;
    if (!byInstance.has(m[1])) byInstance.set(m[1], new Set());
    for (const n of m[2].split(',')) byInstance.get(m[1]).add(Number(n));
  });
  return byInstance;
}

const counts = (frames) => Object.fromEntries([...frames].map(([k, v]) => [k.slice(-12), v.size]));

// Opens a slide, checks that it is drawn; for a pyramid, zooms into level 0, pans, zooms
// out. Returns what it measured.
async function viewSlide(context, base, { name, studyUid, levels }) {
  const page = await context.newPage();
  const seen = watch(page, name);
  const frames = frameLog(page);
  // OHIF logs what its error boundary caught (at debug level) before it shows anything.
  const boundary = [];
  page.on('console', (m) => { if (/Error Boundary/.test(m.text())) boundary.push(m.text().slice(0, 300)); });
  const failIfErrors = async () => {
    const errors = [...boundary, ...await ohifErrors(page)];
    if (errors.length) throw new Error(`OHIF shows an error: ${errors.join(' | ')}`);
  };
  let ok = false;
  const budget = slideBudget();
  try {
    const t0 = Date.now();
    await page.goto(`${base}/ohif/microscopy?StudyInstanceUIDs=${studyUid}`);
    const box = await waitFor(`${name}: the slide viewport`, async () => {
      await failIfErrors();
      return viewportBox(page).catch(() => null);  // the page may still be navigating
    }, VIEW_MS, 500, budget);
    const first = await waitFor(`${name}: the slide drawn`, async () => {
      await failIfErrors();
      if (!frames.size) return null;
      const c = await viewportColours(page, box).catch(() => null);
      if (!c) return null;
      const drawn = c.litShare > DRAWN_LIT && c.colours >= DRAWN_COLOURS && (levels.size < 2 || c.colouredShare > TISSUE_COLOURED);
      return drawn ? c : null;
    }, VIEW_MS, 500, budget);
    const shownMs = Date.now() - t0;
    log(`${name}: drawn ${shownMs} ms after navigation: ${JSON.stringify(first)}; frames ${JSON.stringify(counts(frames))}`);
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await page.screenshot({ path: path.join(ARTIFACTS, `microscopy-${name}-open.png`) });
    const result = { name, shownMs, first };

    const finest = [...levels.entries()].sort((a, b) => b[1].columns - a[1].columns)[0];
    if (levels.size > 1) {
      const [fineUid, fine] = finest;
      const before = new Set([...frames.keys()]);
      log(`${name}: ${levels.size} levels; finest ${fine.columns}x${fine.rows} (${fine.file}); opened on ${[...before].map((u) => levels.get(u)?.columns ?? '?').join(', ')} px wide`);
      // Zoom in on the centre until level 0's tiles are fetched.
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      await page.mouse.move(cx, cy);
      await waitFor(`${name}: level 0 tiles after zooming in`, async () => {
        await page.mouse.wheel(0, -300);
        await sleep(700);
        return frames.get(fineUid)?.size > 0;
      }, 30_000, 100, budget);
      await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
      const zoomed = await viewportColours(page, box);
      const level0AfterZoom = frames.get(fineUid).size;
      await page.screenshot({ path: path.join(ARTIFACTS, `microscopy-${name}-zoomed.png`) });
      log(`${name}: zoomed in: ${level0AfterZoom} level-0 tiles; ${JSON.stringify(zoomed)}`);
      assert.ok(zoomed.colouredShare > TISSUE_COLOURED, `${name}: the zoomed view shows the slide`);

      // Pan: OHIF's Pan tool (toolbar), then drag by most of the viewport until more level-0
      // tiles arrive. The drags turn through the four diagonals, so the view circles around
      // where it zoomed in (new ground each time) instead of running into the slide's edge.
      await page.locator('[data-cy="dragPan"]').first().click();
      const diagonals = [[1, 1], [-1, 1], [-1, -1], [1, -1]];
      let drag = 0;
      await waitFor(`${name}: more level 0 tiles after panning`, async () => {
        const [dx, dy] = diagonals[drag++ % diagonals.length];
        await page.mouse.move(cx + dx * box.width * 0.35, cy + dy * box.height * 0.35);
        await page.mouse.down();
        await page.mouse.move(cx - dx * box.width * 0.35, cy - dy * box.height * 0.35, { steps: 12 });
        await page.mouse.up();
        await sleep(800);
        return frames.get(fineUid).size > level0AfterZoom;
      }, 20_000, 100, budget);
      await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
      const level0AfterPan = frames.get(fineUid).size;
      await page.screenshot({ path: path.join(ARTIFACTS, `microscopy-${name}-panned.png`) });
      log(`${name}: panned: ${level0AfterPan} level-0 tiles`);

      // Zoom out again: the coarse levels show the whole slide; level 0 is not fetched further.
      for (let i = 0; i < 12; i++) { await page.mouse.wheel(0, 300); await sleep(150); }
      await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
      await sleep(1000);
      const out = await viewportColours(page, box);
      await page.screenshot({ path: path.join(ARTIFACTS, `microscopy-${name}-zoomed-out.png`) });
      log(`${name}: zoomed out: ${JSON.stringify(out)}; frames ${JSON.stringify(counts(frames))}`);
      assert.ok(out.colouredShare > TISSUE_COLOURED, `${name}: the zoomed-out view shows the slide`);
      const levelsUsed = [...frames.keys()].filter((u) => levels.has(u)).length;
      assert.ok(levelsUsed >= 2, `${name}: tiles of at least two levels fetched (${levelsUsed})`);
      Object.assign(result, { level0AfterZoom, level0AfterPan, levelsUsed, totalLevel0: fine.columns });
    }
    assert.deepEqual([...boundary, ...await ohifErrors(page)], [], `${name}: no error dialog`);
    assert.deepEqual(seen.failures.filter((f) => f.url.startsWith('/dicom-web')), [], `${name}: no failed /dicom-web request`);
    assert.deepEqual(seen.pageErrors, [], `${name}: no page error`);
    assert.deepEqual(consoleErrorsThatMatter(seen.consoleErrors), [], `${name}: no console error`);
    if (seen.consoleErrors.length) log(`${name}: console errors excused (CONSOLE_ALLOWED): ${seen.consoleErrors.length}`);
    log(`${name}: ${Math.round((Date.now() - budget.start) / 1000)} s of its ${SLIDE_MS / 1000} s budget`);
    ok = true;
    return result;
  } finally {
    report(`${name}: failed API answers`, seen.failures.map((f) => `${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
    if (!ok) {
      report(`${name}: page errors`, seen.pageErrors);
      report(`${name}: console errors`, seen.consoleErrors);
      log(`${name}: frames ${JSON.stringify(counts(frames))}`);
      await page.screenshot({ path: path.join(ARTIFACTS, `microscopy-${name}-failure.png`) }).catch(() => {});
    }
    await page.close().catch(() => {});
  }
}

test('OHIF microscopy mode opens slides stored in radflow', { timeout: TEST_MS }, async (t) => {
  checkPrerequisites([WSI], [[DICOMIZER, 'OrthancWSIDicomizer (Debian orthanc-wsi)'],
    [path.join(WEB_DIR, 'dicom-microscopy-viewer', 'dicomMicroscopyViewer.min.js'),
     'the OHIF microscopy viewer (scripts/setup_web.sh keeps it; re-run make setup)']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-microscopy-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  let context = null;
  let passed = false;
  try {
    // The slides, as DICOM files.
    const slides = [];
    const orthancDir = path.join(tmp, 'orthanc');
    fs.mkdirSync(orthancDir);
    const openslide = opensLibrary();
    // Orthanc WSI 1.1 writes no ImageType (Type 1, PS3.3 C.8.12.4) unless a dataset gives it;
    // its own sample dataset (--sample-dataset) does (DERIVED\\PRIMARY\\VOLUME\\NONE), and
    // OHIF's microscopy viewer needs value 3 (VOLUME): docs/wsi.md, "Viewing slides in OHIF".
    const dataset = path.join(tmp, 'orthanc-dataset.json');
    fs.writeFileSync(dataset, execFileSync(DICOMIZER, ['--sample-dataset'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    execFileSync(DICOMIZER, [`--dataset=${dataset}`, `--folder=${orthancDir}`, '--pyramid=1',
      ...(openslide ? [`--openslide=${openslide}`] : []), CMU1], { stdio: 'pipe' });
    slides.push({ name: 'cmu1-orthanc', files: dcmFiles(orthancDir) });
    slides.push({ name: 'highdicom', files: [path.join(WSI, 'highdicom', 'sm_image.dcm')] });
    slides.push({ name: 'boxes', files: [path.join(WSI, 'openslide_python', 'boxes_0.dcm')] });
    // radflow's own conversion (`radflow wsi import --out`: levels, THUMBNAIL, LABEL, OVERVIEW).
    const radflowDir = path.join(tmp, 'radflow-wsi');
    await run(RADFLOW_BIN, ['wsi', 'import', CMU1, '--out', radflowDir, '--patient-id', 'MICRO-RADFLOW']);
    slides.push({ name: 'cmu1-radflow', files: dcmFiles(radflowDir) });
    assert.ok(dcmFiles(radflowDir).some((f) => /\\THUMBNAIL\\/.test(dicomValue(f, '0008,0008'))),
              'radflow wsi import wrote a THUMBNAIL (the viewer must cope with it)');

    // Stored before the server starts, through the same ingest path as C-STORE (`radflow import`).
    for (const s of slides) {
      await run(RADFLOW_BIN, ['import', '--data', dataDir, ...s.files]);
      s.studyUid = dicomValue(s.files[0], '0020,000d');
      s.levels = levelsOf(s.files.filter((f) => /\\VOLUME\\/.test(dicomValue(f, '0008,0008'))));
      log(`${s.name}: ${s.files.length} files stored (study ${s.studyUid}), levels ${[...s.levels.values()].map((l) => `${l.columns}x${l.rows}`).join(', ')}`);
    }
    // A real-world non-conformant slide (no ImageType, no OpticalPathSequence): stored, and
    // the web app's study page lists what radflow's conformance check found.
    const pathml = path.join(WSI, 'pathml_negative', 'small_dicom.dcm');
    await run(RADFLOW_BIN, ['import', '--data', dataDir, pathml]);
    const pathmlStudy = dicomValue(pathml, '0020,000d');
    fs.mkdirSync(path.join(tmp, 'no-apps'));
    const started = await startRadflow({ dataDir, logFile: serverLog, auth: true,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR], env: { RADFLOW_APPS_DIR: path.join(tmp, 'no-apps') } });
    server = started.server;
    const { base } = started;

    context = await launchChromium(path.join(tmp, 'profile'), { width: 1400, height: 900 });
    await signInContext(context, base, 'admin');
    const results = [];
    for (const s of slides) {
      // The subtest's timeout backs up the slide's own budget (SLIDE_MS) by 15 s.
      await t.test(`${s.name} in the microscopy viewer`, { timeout: SLIDE_MS + 15_000 },
                   async () => { results.push(await viewSlide(context, base, s)); });
    }
    await t.test("radflow's study list (/studies) links slides to the microscopy mode", async () => {
      const page = await context.newPage();
      try {
        await page.goto(`${base}/studies`);
        const link = page.locator(`tr[data-study-uid="${slides[0].studyUid}"] a`).first();
        await link.waitFor({ timeout: 20_000 });
        assert.equal(await link.getAttribute('href'), `/ohif/microscopy?StudyInstanceUIDs=${slides[0].studyUid}`);
      } finally {
        await page.close().catch(() => {});
      }
    });
    await t.test('the study page lists the conformance problems of a non-conformant slide', async () => {
      const page = await context.newPage();
      try {
        await page.goto(`${base}/study/${pathmlStudy}`);
        await page.getByTestId('conformance').waitFor({ timeout: 20_000 });
        const summary = await page.getByTestId('conformance-summary').textContent();
        const problems = await page.locator('table.conformance li').allTextContents();
        log(`pathml study page: ${summary}\n  ${problems.join('\n  ')}`);
        assert.match(summary, /^\d+ problems? in 1 of 1 instance/);
        assert.ok(problems.some((p) => p.includes('ImageType')), 'the missing ImageType is named');
        assert.ok(problems.some((p) => p.includes('OpticalPathSequence')), 'the missing OpticalPathSequence is named');
        await page.screenshot({ path: path.join(ARTIFACTS, 'microscopy-conformance-study-page.png'), fullPage: true });
      } finally {
        await page.close().catch(() => {});
      }
    });
    log(`results: ${JSON.stringify(results)}`);
    passed = true;
  } finally {
    if (!passed) {
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
