// Sign-in helpers of the browser tests of issue 18 (login, security_admin, research,
// deid_viewer): local accounts made with the CLI, and a browser that signs in through the
// /login page (lib.mjs has signInContext for a session without the form).
import { spawn } from 'node:child_process';
import { RADFLOW_BIN, sleep } from './lib.mjs';

// `radflow user add --data DIR NAME --role ROLE --password-stdin` (the password on stdin).
export function addUser(dataDir, name, role, password, { displayName = '', referringName = '' } = {}) {
  const args = ['user', 'add', '--data', dataDir, name, '--role', role, '--password-stdin'];
  if (displayName) args.push('--display-name', displayName);
  if (referringName) args.push('--referring-name', referringName);
  return new Promise((resolve, reject) => {
    const child = spawn(RADFLOW_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`radflow ${args.join(' ')} exited with ${code}: ${output}`))));
    child.stdin.end(`${password}\n`);
  });
}

export async function waitFor(what, fn, timeoutMs, intervalMs = 200) {
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

// The /login form in `page`; resolves when the app shows the signed-in user.
export async function signIn(page, base, user, password, next = '') {
  await page.goto(`${base}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByTestId('username').fill(user);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('user-name').waitFor({ timeout: 10_000 });
}

// Calls of the web app (/api, /dicom-web, /auth) that failed, page errors and console errors.
export function watch(page, name) {
  const seen = { failures: [], pageErrors: [], consoleErrors: [] };
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (!/^\/(api|dicom-web|auth)\//.test(url.pathname) || res.status() < 400) return;
    const entry = { page: name, status: res.status(), method: res.request().method(), url: url.pathname + url.search };
    seen.failures.push(entry);
    res.text().then((b) => { entry.body = b.slice(0, 300); }).catch(() => {});
  });
  page.on('pageerror', (err) => seen.pageErrors.push(`${name}: ${String((err && err.stack) || err).slice(0, 800)}`));
  page.on('console', (msg) => { if (msg.type() === 'error') seen.consoleErrors.push(`${name}: ${msg.text().slice(0, 300)}`); });
  return seen;
}

export function report(title, items) {
  if (items.length) console.log(`--- ${title} (${items.length}):\n${items.slice(0, 30).join('\n')}`);
}
