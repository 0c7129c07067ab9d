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
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const RADFLOW_BIN = process.env.RADFLOW_BIN || path.join(REPO, 'build', 'radflow');
const WEB_DIR = process.env.RADFLOW_WEB_DIR || '/var/cache/radflow/ohif-3.13.2/dist';
const DATA = process.env.RADFLOW_DATA || path.resolve(REPO, '..', 'shared', 'data');
const SERIES_DIR = path.join(DATA, 'dicom', 'ct_chest_lung_dx', 'Lung_Dx-A0001', 'CT_5mm_lung_kernel');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TEST_TIMEOUT_MS = 120_000;

const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function checkPrerequisites() {
  const missing = [];
  if (!fs.existsSync(RADFLOW_BIN)) missing.push(`radflow binary ${RADFLOW_BIN} (build it)`);
  if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) missing.push(`OHIF viewer in ${WEB_DIR}`);
  if (!fs.existsSync(CHROMIUM)) missing.push(`chromium at ${CHROMIUM}`);
  if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
    missing.push('playwright-core in tests/browser/node_modules');
  }
  if (!fs.existsSync(SERIES_DIR)) missing.push(`test data ${SERIES_DIR}`);
  if (missing.length) {
    throw new Error(`missing: ${missing.join('; ')}. Run \`make setup\` (scripts/setup_web.sh).`);
  }
}

// The StudyInstanceUID the files carry, read without asking radflow.
function studyUidOf(file) {
  const out = execFileSync('dcmdump', ['+P', '0020,000d', file], { encoding: 'utf8' });
  const m = out.match(/\[([0-9.]+)\]/);
  if (!m) throw new Error(`no StudyInstanceUID in ${file}: ${out}`);
  return m[1];
}

async function waitForHealthy(base, server, deadline) {
  let last = '';
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`radflow exited with ${server.exitCode}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
      last = `${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(100);
  }
  throw new Error(`radflow not healthy in time (${last})`);
}

function run(cmd, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

async function stopServer(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  let timer;
  const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), 10_000); });
  const outcome = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log('radflow did not stop on SIGTERM within 10 s; killing it');
    server.kill('SIGKILL');
    await exited;
  }
}

// What the main viewport shows: for the largest visible canvas (the viewport, not a
// thumbnail), the share of non-black pixels and the number of distinct grey levels.
async function viewportPixels(page) {
  return page.evaluate(() => {
    const canvases = [...document.querySelectorAll('canvas')]
      .filter((c) => c.width > 64 && c.height > 64 && c.offsetParent !== null)
      .sort((a, b) => b.width * b.height - a.width * a.height);
    if (!canvases.length) return { canvases: 0 };
    const c = canvases[0];
    const w = Math.min(c.width, 512);
    const h = Math.min(c.height, 512);
    const copy = document.createElement('canvas');
    copy.width = w;
    copy.height = h;
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    let lit = 0;
    const levels = new Set();
    for (let i = 0; i < data.length; i += 4) {
      const v = (data[i] + data[i + 1] + data[i + 2]) / 3;
      if (v > 12) lit++;
      levels.add(data[i] >> 2);
    }
    return {
      canvases: canvases.length,
      viewport: { className: String(c.className), width: c.width, height: c.height,
                  litShare: Math.round((lit / (w * h)) * 1000) / 1000, levels: levels.size },
    };
  });
}

test('OHIF viewer served by radflow shows a stored CT study', { timeout: TEST_TIMEOUT_MS + 30_000 }, async () => {
  checkPrerequisites();
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

    // radflow's own study list.
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
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
