// Browser test: the administrator's security pages (issue 18) in Debian's Chromium, against
// a real radflow.
//
// `radflow user add` makes the administrator "admin" before the server starts. In the browser:
//   1. admin signs in; the Users page lists admin; a new account dr.new (radiologist,
//      display name, password) is created in the page and listed (GET /api/v1/users agrees);
//      a short password is refused in the page before any request;
//   2. in a second browser, dr.new fails once (wrong password), then signs in;
//   3. admin's Audit page, searched for user dr.new, lists the successful sign-in (event
//      login) and the failed one (event login-failed, outcome failure), with the source
//      address; searched for event login as well, only the successful one; the record's
//      DICOM audit message (PS3.15 A.5.3.11 User Authentication, EventID 110114) opens in the
//      drawer naming dr.new; the hash chain's check says intact.
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): users.png, audit.png,
// audit-record.png.
//
// Run: node tests/browser/security_admin.test.mjs (ctest: browser.security_admin). Needs
// `make setup` (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APP_DIR, REPO, WEB_DIR, checkPrerequisites, launchChromium, log, startRadflow, stopServer } from './lib.mjs';
import { addUser, report, signIn, waitFor, watch } from './signin.mjs';

const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const TEST_TIMEOUT_MS = 180_000;
const ADMIN_PW = 'admin passphrase long enough';
const NEW_PW = 'new user passphrase 42';

// The Audit page's rows: event, outcome and user as the page got them, and the row's text.
const auditRows = (page) => page.$$eval('tr[data-seq]', (rows) => rows.map((r) => ({
  event: r.dataset.event, outcome: r.dataset.outcome, user: r.dataset.user, text: r.innerText,
})));

test('security pages: create a user, see their sign-in in the audit trail', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([], [[path.join(APP_DIR, 'login.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-secadmin-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps);
  const serverLog = path.join(tmp, 'radflow.log');
  let server = null;
  const contexts = [];
  const watches = [];
  let page = null;
  let passed = false;
  try {
    await addUser(dataDir, 'admin', 'administrator', ADMIN_PW, { displayName: 'Site Admin' });
    const started = await startRadflow({
      dataDir, logFile: serverLog, args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR], env: { RADFLOW_APPS_DIR: emptyApps },
    });
    server = started.server;
    const { base } = started;
    const ctxA = await launchChromium(path.join(tmp, 'profile-admin'));
    contexts.push(ctxA);
    page = ctxA.pages()[0] ?? await ctxA.newPage();
    const wa = watch(page, 'admin');
    watches.push(wa);

    // 1. Users: create dr.new
    await signIn(page, base, 'admin', ADMIN_PW, '/users');
    await waitFor('on /users', async () => new URL(page.url()).pathname === '/users', 5_000);
    await page.locator('tr[data-user="admin"]').waitFor({ timeout: 10_000 });
    await page.getByTestId('new-name').fill('dr.new');
    await page.getByTestId('new-display').fill('Dr New');
    await page.getByTestId('new-role').selectOption('radiologist');
    await page.getByTestId('new-password').fill('short');
    const before = wa.failures.length;
    await page.getByTestId('create-user-submit').click();
    assert.match(await page.getByTestId('create-user-error').innerText(), /12 characters/);
    assert.equal(wa.failures.length, before);
    await page.getByTestId('new-password').fill(NEW_PW);
    await page.getByTestId('create-user-submit').click();
    const row = page.locator('tr[data-user="dr.new"]');
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /Dr New/);
    assert.equal(await page.getByTestId('role-dr.new').inputValue(), 'radiologist');
    const users = await page.evaluate(() => fetch('/api/v1/users').then((r) => r.json()));
    const made = users.users.find((u) => u.name === 'dr.new');
    assert.ok(made, `GET /api/v1/users lists dr.new: ${JSON.stringify(users)}`);
    assert.equal(made.role, 'radiologist');
    assert.equal(made.display_name, 'Dr New');
    await page.screenshot({ path: path.join(ARTIFACTS, 'users.png'), fullPage: true });

    // 2. dr.new signs in, after one failure
    const ctxB = await launchChromium(path.join(tmp, 'profile-new'));
    contexts.push(ctxB);
    const pageB = ctxB.pages()[0] ?? await ctxB.newPage();
    await pageB.goto(`${base}/login`);
    await pageB.getByTestId('username').fill('dr.new');
    await pageB.getByTestId('password').fill('wrong password!');
    await pageB.getByTestId('sign-in').click();
    await pageB.getByTestId('login-error').waitFor({ timeout: 10_000 });
    const signedInAt = Date.now();
    await signIn(pageB, base, 'dr.new', NEW_PW);
    assert.equal((await pageB.getByTestId('user-name').innerText()).trim(), 'Dr New (dr.new)');
    log(`dr.new signed in at ${new Date(signedInAt).toISOString()}`);

    // 3. the audit trail
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-search').waitFor({ timeout: 10_000 });
    await page.getByTestId('audit-user').fill('dr.new');
    await page.getByTestId('audit-submit').click();
    const outcomes = await waitFor('both sign-ins of dr.new listed', async () => {
      // the trail is written by a batching writer: search again until both are there
      await page.getByTestId('audit-submit').click();
      await page.waitForTimeout(300);
      const rows = await auditRows(page);
      const ok = rows.filter((r) => r.event === 'login' && r.user === 'dr.new' && r.outcome === 'success');
      const bad = rows.filter((r) => r.event === 'login-failed' && r.user === 'dr.new' && r.outcome === 'failure');
      if (ok.length >= 1 && bad.length >= 1) return { rows, ok, bad };
      throw new Error(`rows: ${JSON.stringify(rows)}`);
    }, 20_000, 500);
    await page.getByTestId('audit-event').fill('login');
    await page.getByTestId('audit-submit').click();
    await waitFor('event login only', async () => {
      const rows = await auditRows(page);
      return rows.length >= 1 && rows.every((r) => r.event === 'login' && r.outcome === 'success');
    }, 10_000);
    assert.equal(new URL(page.url()).search, '?user=dr.new&event=login', 'the search is in the URL');
    log(`audit rows: ${outcomes.rows.length}`);
    assert.match(outcomes.ok[0].text, /127\.0\.0\.1/, 'the source address');
    const api = await page.evaluate(() => fetch('/api/v1/audit?user=dr.new&event=login&outcome=success').then((r) => r.json()));
    assert.ok(api.records.length >= 1 && api.records.every((r) => r.user === 'dr.new' && r.outcome === 'success'),
      `GET /api/v1/audit agrees: ${JSON.stringify(api).slice(0, 400)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png'), fullPage: true });
    // the record's XML
    await page.locator('tr[data-seq]', { hasText: 'success' }).first().click();
    const xml = page.getByTestId('audit-xml');
    await xml.waitFor({ timeout: 10_000 });
    const text = await xml.innerText();
    assert.match(text, /AuditMessage/, 'a DICOM audit message');
    assert.match(text, /110114/, 'EventID User Authentication (DCM 110114)');
    assert.match(text, /dr\.new/, 'names the user');
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit-record.png') });
    await page.keyboard.press('Escape');
    await waitFor('chain verified', async () => /chain intact/.test(await page.getByTestId('audit-verify').innerText()), 10_000);

    for (const w of watches) {
      const unexpected = w.failures.filter((f) => !(f.status === 401 && f.url === '/api/v1/auth/login'));
      assert.deepEqual(unexpected, [], `failed API calls of ${w.failures[0]?.page}`);
      assert.deepEqual(w.pageErrors, [], 'errors in the page');
    }
    passed = true;
  } finally {
    for (const w of watches) {
      report('failed API answers', w.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', w.pageErrors); report('console errors', w.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'security-admin-failure.png'), fullPage: true }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    for (const c of contexts) await c.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
