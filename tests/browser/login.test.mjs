// Browser test: signing in to the web app (issue 18) in Debian's Chromium, against a real
// radflow.
//
// Part 1 — a local account. `radflow user add --data D dr.a --role radiologist
// --password-stdin` makes the account before the server starts; the IBSI lung CT (PAT1) is
// stored through DICOM. In the browser:
//   1. an unauthenticated visit to / lands on /login (the server's 302), and so does a deep
//      link (/followups), carrying it as next;
//   2. a wrong password shows "invalid user name or password" and sets no cookie;
//   3. the right password reaches the worklist with the CT's row, the header naming dr.a
//      as radiologist; the deep link's sign-in returns to /followups;
//   4. the session cookie radflow_session is HttpOnly and SameSite=Strict
//      (context.cookies()), invisible to the page's script (document.cookie);
//   5. Sign out returns to /login; /api/v1/auth/me then answers 401 and / leads to /login;
//   6. repeated wrong passwords of another account (dr.lock) lock it: the page says
//      "account locked until <local time>" (the server's 429), and the right password is
//      refused the same way while the lock lasts.
// Part 2 — a first start with no account: the set-up link that `radflow serve` prints
// (/setup?token=…) creates the first administrator in the browser, who lands in the app as
// administrator with Users and Audit; the same link a second time is refused, naming why.
// Screenshots (RADFLOW_ARTIFACTS, default build/test-artifacts/web/): login.png,
// login-error.png, login-worklist.png, login-locked.png, setup.png, setup-done.png.
//
// Run: node tests/browser/login.test.mjs (ctest: browser.login). Needs `make setup`
// (chromium, the OHIF viewer, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, REPO, WEB_DIR, checkPrerequisites, dicomFiles, launchChromium, log, startRadflow, stopServer,
  storeFiles, studyUidOf,
} from './lib.mjs';
import { addUser, report, signIn, waitFor, watch } from './signin.mjs';

const CT_DIR = path.join(DATA, 'dicom', 'ct_lung_ibsi_pat1', 'dicom', 'image');
const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const TEST_TIMEOUT_MS = 180_000;
const USER = 'dr.a';
const PASSWORD = 'correct horse battery staple';

test('sign-in: login page, wrong and right password, session cookie, sign-out, first-run set-up', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([CT_DIR], [
    [path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist'],
    [path.join(APP_DIR, 'login.html'), 'the sign-in page, built by make into web/dist'],
  ]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-login-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps);
  const logs = [];
  let server = null;
  let context = null;
  let page = null;
  let seen = null;
  let passed = false;
  try {
    // ---- part 1: a local account
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir);
    await addUser(dataDir, USER, 'radiologist', PASSWORD);
    await addUser(dataDir, 'dr.lock', 'radiologist', PASSWORD);
    const serverLog = path.join(tmp, 'radflow.log');
    logs.push(serverLog);
    const started = await startRadflow({
      dataDir, logFile: serverLog,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--stable-seconds', '1'],
      env: { RADFLOW_APPS_DIR: emptyApps },
    });
    server = started.server;
    const { base } = started;
    const files = dicomFiles(CT_DIR);
    const studyUid = studyUidOf(files[0]);
    await storeFiles(started.dicomPort, files);
    log(`stored ${files.length} files of ${studyUid}`);

    context = await launchChromium(path.join(tmp, 'profile'));
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, 'dr.a');

    // 1. / without a session → /login
    await page.goto(`${base}/`);
    await page.getByTestId('login-form').waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/login', `landed on ${page.url()}`);
    assert.equal(await page.getByTestId('sso').count(), 0, 'no single sign-on button without a provider');
    await page.screenshot({ path: path.join(ARTIFACTS, 'login.png') });
    await page.goto(`${base}/followups?state=all`);
    await page.getByTestId('login-form').waitFor({ timeout: 10_000 });
    const deep = new URL(page.url());
    assert.equal(deep.pathname, '/login');
    assert.equal(deep.searchParams.get('next'), '/followups?state=all', `next of ${page.url()}`);

    // 2. wrong password
    await page.getByTestId('username').fill(USER);
    await page.getByTestId('password').fill('not the password');
    await page.getByTestId('sign-in').click();
    const err = page.getByTestId('login-error');
    await err.waitFor({ timeout: 10_000 });
    assert.equal((await err.innerText()).trim(), 'invalid user name or password');
    assert.equal((await context.cookies(base)).filter((c) => c.name === 'radflow_session').length, 0, 'no session cookie after a failure');
    await page.screenshot({ path: path.join(ARTIFACTS, 'login-error.png') });

    // 3. the right password, from the deep link: back to /followups
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('user-name').waitFor({ timeout: 10_000 });
    await waitFor('back on /followups', async () => new URL(page.url()).pathname === '/followups', 5_000);
    assert.equal(new URL(page.url()).search, '?state=all');
    assert.equal((await page.getByTestId('user-name').innerText()).trim(), USER);
    assert.equal((await page.getByTestId('user-role').innerText()).trim(), 'radiologist');
    // the worklist with the stored CT
    await page.goto(`${base}/`);
    await waitFor('the CT in the worklist', async () => (await page.locator(`tbody tr[data-study-uid="${studyUid}"]`).count()) === 1, 20_000);
    const nav = await page.getByTestId('nav').locator('a').allInnerTexts();
    assert.deepEqual(nav, ['Worklist', 'Follow-ups', 'AI performance', 'Apps', 'OHIF study list'], 'a radiologist\'s pages');
    await page.screenshot({ path: path.join(ARTIFACTS, 'login-worklist.png') });

    // 4. the cookie
    const cookies = (await context.cookies(base)).filter((c) => c.name === 'radflow_session');
    assert.equal(cookies.length, 1, `one session cookie: ${JSON.stringify(await context.cookies(base))}`);
    assert.equal(cookies[0].httpOnly, true, 'HttpOnly');
    assert.equal(cookies[0].sameSite, 'Strict', 'SameSite=Strict');
    assert.equal(cookies[0].path, '/');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('radflow_session'), 'the page cannot read the session');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(cookies[0].value), 'the session is in no storage of the page');

    // 5. sign out
    await page.getByTestId('sign-out').click();
    await page.getByTestId('login-form').waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/login');
    const me = await page.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.status));
    assert.equal(me, 401, 'no session after sign-out');
    await page.goto(`${base}/`);
    await page.getByTestId('login-form').waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/login');

    // 6. lock-out
    await page.getByTestId('username').fill('dr.lock');
    let message = '';
    for (let attempt = 1; attempt <= 8 && !/locked/.test(message); attempt++) {
      await page.getByTestId('password').fill(`wrong ${attempt}`);
      await page.getByTestId('sign-in').click();
      await waitFor(`answer to attempt ${attempt}`, async () => {
        const t = (await page.getByTestId('login-error').innerText().catch(() => '')).trim();
        // each answer replaces the text; wait for the button to be back
        return t && await page.getByTestId('sign-in').isEnabled() ? t : null;
      }, 10_000, 100).then((t) => { message = t; });
      log(`attempt ${attempt}: ${message}`);
    }
    assert.match(message, /^account locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, `the lock-out is named: ${message}`);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    await waitFor('the right password refused while locked', async () => {
      const t = (await page.getByTestId('login-error').innerText()).trim();
      return /^account locked until/.test(t) && await page.getByTestId('sign-in').isEnabled();
    }, 10_000, 100);
    assert.equal(new URL(page.url()).pathname, '/login', 'still on the sign-in page');
    await page.screenshot({ path: path.join(ARTIFACTS, 'login-locked.png') });

    const unexpected = seen.failures.filter((f) => !([401, 429].includes(f.status) && f.url === '/api/v1/auth/login') && !(f.status === 401 && f.url === '/api/v1/auth/me'));
    assert.deepEqual(unexpected, [], 'no failed API calls besides the wrong passwords, the lock-out and the check after sign-out');
    assert.ok(seen.failures.some((f) => f.status === 429), 'the server answered 429 to the locked account');
    assert.deepEqual(seen.pageErrors, [], 'no errors in the page');
    await context.close();
    context = null;
    await stopServer(server);
    server = null;

    // ---- part 2: the first start without an account
    const freshDir = path.join(tmp, 'fresh');
    fs.mkdirSync(freshDir);
    const freshLog = path.join(tmp, 'radflow-fresh.log');
    logs.push(freshLog);
    const fresh = await startRadflow({
      dataDir: freshDir, logFile: freshLog,
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR], env: { RADFLOW_APPS_DIR: emptyApps },
    });
    server = fresh.server;
    const link = await waitFor('the set-up link in the log', async () => {
      const m = /\/setup\?token=([A-Za-z0-9_-]+)/.exec(fs.readFileSync(freshLog, 'utf8'));
      return m ? `${fresh.base}/setup?token=${m[1]}` : null;
    }, 10_000);
    log(`set-up link ${link.replace(/token=.*/, 'token=…')}`);
    context = await launchChromium(path.join(tmp, 'profile2'));
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, 'setup');
    // the sign-in page knows that set-up is pending
    await page.goto(`${fresh.base}/`);
    await page.getByTestId('setup-hint').waitFor({ timeout: 10_000 });
    await page.goto(link);
    await page.getByTestId('setup-form').waitFor({ timeout: 10_000 });
    await page.getByTestId('setup-username').fill('boss');
    await page.getByTestId('setup-display').fill('Site Admin');
    await page.getByTestId('setup-password').fill('a long admin passphrase');
    await page.getByTestId('setup-repeat').fill('a long admin passphrase');
    await page.screenshot({ path: path.join(ARTIFACTS, 'setup.png') });
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('user-name').waitFor({ timeout: 10_000 });
    assert.equal((await page.getByTestId('user-name').innerText()).trim(), 'Site Admin (boss)');
    assert.equal((await page.getByTestId('user-role').innerText()).trim(), 'administrator');
    const adminNav = await page.getByTestId('nav').locator('a').allInnerTexts();
    assert.ok(adminNav.includes('Users') && adminNav.includes('Audit'), `an administrator's pages: ${adminNav}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'setup-done.png') });
    // the link works once
    await page.goto(link);
    await page.getByTestId('setup-form').waitFor({ timeout: 10_000 });
    await page.getByTestId('setup-username').fill('boss2');
    await page.getByTestId('setup-password').fill('another long passphrase');
    await page.getByTestId('setup-repeat').fill('another long passphrase');
    await page.getByTestId('setup-submit').click();
    const again = page.getByTestId('setup-error');
    await again.waitFor({ timeout: 10_000 });
    const why = (await again.innerText()).trim();
    assert.match(why, /used|already|account|expired|invalid/i, `the second use is refused with a reason: ${why}`);
    log(`second use of the link: ${why}`);
    passed = true;
  } finally {
    if (seen) {
      report('failed API answers', seen.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', seen.pageErrors); report('console errors', seen.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'login-failure.png') }).catch(() => {});
      for (const f of logs) if (fs.existsSync(f)) console.log(`--- ${path.basename(f)} (tail):\n${fs.readFileSync(f, 'utf8').slice(-3000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
