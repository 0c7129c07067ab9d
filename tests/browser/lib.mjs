// Helpers shared by the browser tests: free ports, starting and stopping radflow, storescu,
// and reading what the OHIF viewport draws.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const RADFLOW_BIN = process.env.RADFLOW_BIN || path.join(REPO, 'build', 'radflow');
export const WEB_DIR = process.env.RADFLOW_WEB_DIR || '/var/cache/radflow/ohif-3.13.2/dist';
export const DATA = process.env.RADFLOW_DATA || path.resolve(REPO, '..', 'shared', 'data');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The reading worklist web app (web/, built by make into web/dist), served at / (--app-dir).
export const APP_DIR = process.env.RADFLOW_APP_DIR || path.join(REPO, 'web', 'dist');
// The flags every test starts Debian's Chromium with (no network beyond the test server).
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const log = (...args) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
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

// Throws naming everything missing. `files`: more [path, what it is and how to get it] pairs.
export function checkPrerequisites(dataDirs, files = []) {
  const missing = [];
  for (const [file, what] of files) {
    if (!fs.existsSync(file)) missing.push(`${what} (${file})`);
  }
  if (!fs.existsSync(RADFLOW_BIN)) missing.push(`radflow binary ${RADFLOW_BIN} (build it)`);
  if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) missing.push(`OHIF viewer in ${WEB_DIR}`);
  if (!fs.existsSync(CHROMIUM)) missing.push(`chromium at ${CHROMIUM}`);
  if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
    missing.push('playwright-core in tests/browser/node_modules');
  }
  for (const dir of dataDirs) {
    if (!fs.existsSync(dir)) missing.push(`test data ${dir}`);
  }
  if (missing.length) {
    throw new Error(`missing: ${missing.join('; ')}. Run \`make setup\` (scripts/setup_web.sh).`);
  }
}

// The StudyInstanceUID the files carry, read without asking radflow.
export function studyUidOf(file) {
  const out = execFileSync('dcmdump', ['+P', '0020,000d', file], { encoding: 'utf8' });
  const m = out.match(/\[([0-9.]+)\]/);
  if (!m) throw new Error(`no StudyInstanceUID in ${file}: ${out}`);
  return m[1];
}

export async function waitForHealthy(base, server, deadline) {
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

export function run(cmd, args, options) {
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

export async function stopServer(server) {
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
export async function viewportPixels(page) {
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

// ---- authentication (docs/access-control.md)
export const ADMIN_USER = 'admin';
export const TEST_PASSWORD = 'radflow-test-password';  // of the accounts made by provisionUser

// Creates (or updates) an account through the CLI (`radflow user add|set`), with a password
// for browser sign-in; the CLI works while a server runs on the directory.
export function provisionUser(dataDir, name, role, { password = TEST_PASSWORD, referringName } = {}) {
  fs.mkdirSync(dataDir, { recursive: true });
  const extra = referringName ? ['--referring-name', referringName] : [];
  try {
    execFileSync(RADFLOW_BIN, ['user', 'add', '--data', dataDir, name, '--role', role, ...extra, '--password-stdin'],
                 { input: `${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch {
    execFileSync(RADFLOW_BIN, ['user', 'set', '--data', dataDir, name, '--role', role, ...extra, '--password-stdin'],
                 { input: `${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  }
}

// A bearer token of an existing account (`radflow token create`).
export function createToken(dataDir, name) {
  return execFileSync(RADFLOW_BIN, ['token', 'create', '--data', dataDir, '--user', name, '--label', 'browser test'],
                      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// base URL -> {dataDir, tokens: user -> token} of the servers started with auth.
const servers = new Map();
// A token of `name` on the server at `base` (created with `role` on first use, default
// radiologist; the administrator exists already).
export function tokenFor(base, name = ADMIN_USER, role = undefined) {
  const s = servers.get(base);
  if (!s) throw new Error(`no authenticated server at ${base}`);
  if (!s.tokens.has(name) || (role && s.roles.get(name) !== role)) {
    provisionUser(s.dataDir, name, role || (name === ADMIN_USER ? 'administrator' : 'radiologist'));
    s.roles.set(name, role || s.roles.get(name) || 'radiologist');
    s.tokens.set(name, createToken(s.dataDir, name));
  }
  return s.tokens.get(name);
}
// Before a server starts on dataDir: the administrator (ADMIN_USER, TEST_PASSWORD) and its
// token, which Node's fetch() to `base` then carries. Returns the token.
export function authenticate(dataDir, base) {
  provisionUser(dataDir, ADMIN_USER, 'administrator');
  const token = createToken(dataDir, ADMIN_USER);
  servers.set(base, { dataDir, tokens: new Map([[ADMIN_USER, token]]), roles: new Map([[ADMIN_USER, 'administrator']]) });
  return token;
}
const plainFetch = globalThis.fetch;
// Node's fetch() to a server started with auth carries a bearer token: the administrator's,
// or, for a request with `X-Radflow-Reader: NAME`, NAME's (as in tests/integration/harness.py).
globalThis.fetch = (input, init = {}) => {
  const url = typeof input === 'string' ? input : (input instanceof URL ? input.href : input.url);
  const base = [...servers.keys()].find((b) => url === b || url.startsWith(`${b}/`));
  if (!base) return plainFetch(input, init);
  const headers = new Headers(init.headers || (typeof input === 'object' && input.headers) || {});
  if (!headers.has('authorization') && !headers.has('cookie')) {
    headers.set('Authorization', `Bearer ${tokenFor(base, headers.get('x-radflow-reader') || ADMIN_USER)}`);
  }
  return plainFetch(input, { ...init, headers });
};

// Signs a browser context in as `name` (POST /api/v1/auth/login, then the session cookie is
// given to the context) so that the web application and OHIF open without the sign-in page.
export async function signInContext(context, base, name, password = TEST_PASSWORD) {
  const res = await plainFetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: name, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${name}: HTTP ${res.status} ${await res.text()}`);
  const cookie = (res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie')]).find((c) => c && c.startsWith('radflow_session='));
  if (!cookie) throw new Error(`sign-in of ${name}: no radflow_session cookie`);
  const value = cookie.split(';')[0].slice('radflow_session='.length);
  await context.addCookies([{ name: 'radflow_session', value, url: base, httpOnly: true, sameSite: 'Strict' }]);
  return value;
}

// `radflow serve` on fresh free ports, logging to `logFile`; resolves when /healthz answers.
// auth: before the start, an administrator (ADMIN_USER, TEST_PASSWORD) and its token are
// created through the CLI and Node's fetch() to the server carries the token; without it the
// data directory is left as it is (a first start without an account prints the set-up link).
// Returns {server, base, httpPort, dicomPort, token}.
export async function startRadflow({ dataDir, logFile, args = [], env = {}, timeoutMs = 30_000, auth = false }) {
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const token = auth ? authenticate(dataDir, base) : null;
  const logFd = fs.openSync(logFile, 'a');
  const server = spawn(RADFLOW_BIN, [
    'serve', '--data', dataDir, '--http-address', '127.0.0.1',
    '--http-port', String(httpPort), '--dicom-port', String(dicomPort), ...args,
  ], { stdio: ['ignore', logFd, logFd], env: { ...process.env, ...env } });
  fs.closeSync(logFd);
  // A binary that cannot be started (missing, being relinked: EACCES/ETXTBSY) is an error
  // of this call, not an uncaught one.
  const failed = new Promise((_, reject) => server.once('error', (e) => reject(new Error(`starting ${RADFLOW_BIN}: ${e.message}`))));
  await Promise.race([waitForHealthy(base, server, Date.now() + timeoutMs), failed]);
  return { server, base, httpPort, dicomPort, token };
}

// C-STORE of files (storescu, Nagle off) to radflow on `dicomPort`.
export function storeFiles(dicomPort, files) {
  return run('storescu', ['-aet', 'BROWSERTEST', '-aec', 'RADFLOW', '127.0.0.1', String(dicomPort), ...files],
             { env: { ...process.env, TCP_NODELAY: '1' } });
}

// The .dcm files of a folder, sorted.
export function dicomFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(dir, f));
}

// A persistent Chromium context on Debian's browser with a fresh profile folder.
export async function launchChromium(profileDir, { width = 1280, height = 800 } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width, height },
  });
}
