// Browser test: the Scheduling page (issue 14; web/src/pages/SchedulingPage.tsx) in Debian's
// Chromium against a real radflow with a real no-show model.
//
//   1. `radflow noshow train` on the real appointments table (or RADFLOW_NOSHOW_MODEL) makes
//      the model file; radflow serves with it, with --station-hours for three scanners (CT1
//      07-19, CT2 08-18, MR1 08-20) and an HL7 listener.
//   2. A week of appointments (tests/browser/scheduling_fixture.mjs: 7 days from three days ago,
//      slots of 20 / 45 minutes filled to 50-72 %) is booked through the REST
//      (POST /api/v1/orders, as the technologist). The unreliable patients also get two missed
//      appointments a month before. The appointments already over are given an outcome: most
//      are reported completed by the RIS (HL7 ORM^O01 ORC-1 SC, ORC-5 CM over MLLP), some are
//      marked no-show by the exam desk (POST .../status), a few are cancelled (POST .../cancel),
//      also some still to come.
//   3. GET /api/v1/scheduling/days agrees, per scanner and day, with what the test booked:
//      booked, performed, no-shows, cancelled, booked and performed minutes (slots × length:
//      the slots do not overlap and lie inside the hours) and idle = open − performed.
//      GET /api/v1/scheduling/risky lists scheduled appointments only, highest risk first, each
//      action following the rule of docs/scheduling.md. Bad parameters get a 400 naming them;
//      a referring physician gets 403.
//   4. A manager (administrator) opens Scheduling from the header, on those 7 days: the tiles
//      add up the API's station-days, one chart per scanner with a bar per day, the no-show
//      chart, the station-day table (21 rows, matching the API) and the high-risk table (the
//      API's items in its order, with action and why). Screenshots scheduling-week.png (the
//      page), scheduling-scanners.png (the charts), scheduling-risky.png (the high-risk list),
//      scheduling-mr1.png (one scanner).
// No failed API call and no page error along the way. `--no-show-grace-minutes 100000` keeps
// the periodic no-show marking from changing the outcomes the test set.
//
// Run: node tests/browser/scheduling.test.mjs (ctest: browser.scheduling). Needs `make setup`
// (chromium, playwright-core), build/radflow and web/dist (make).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  APP_DIR, DATA, RADFLOW_BIN, REPO, WEB_DIR, checkPrerequisites, freePort, launchChromium, log,
  createToken, provisionUser, signInContext, startRadflow, stopServer, tokenFor,
} from './lib.mjs';
import { report, waitFor, watch } from './signin.mjs';
import { STATIONS, openOn, priorMisses, rng, weekOrders } from './scheduling_fixture.mjs';

const ARTIFACTS = process.env.RADFLOW_ARTIFACTS || path.join(REPO, 'build', 'test-artifacts', 'web');
const TABLE = path.join(DATA, 'tables', 'noshow_appointments', 'KaggleV2-May-2016.csv');
const TEST_TIMEOUT_MS = 280_000;
const TECH = 'tech.ray';
const MANAGER = 'manager.ines';
const TECH_HEADERS = { 'X-Radflow-Reader': TECH, 'Content-Type': 'application/json' };
const DAY = 86_400_000;
const ACTIONS = new Set(['reminder call', 'overbook slot', 'confirm by phone']);

async function api(base, method, url, body, headers = TECH_HEADERS) {
  const res = await fetch(`${base}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}

/** `n` workers over `items` (the REST is one transaction per call). */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; await fn(items[i], i); }
  }));
}

const ymd = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
};
const isoDay = (ms) => { const s = ymd(ms); return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}`; };
const hhmm = (s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** HL7 v2 over MLLP (HL7 v2.5.1 Appendix C): each message framed <VT>…<FS><CR>, its ACK awaited. */
async function mllpSend(port, messages) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  let buf = '';
  const acks = [];
  let waiting = null;
  sock.on('data', (d) => {
    buf += d.toString('utf8');
    let end;
    while ((end = buf.indexOf('\x1c\r')) >= 0) {
      const frame = buf.slice(buf.indexOf('\x0b') + 1, end);
      buf = buf.slice(end + 2);
      if (waiting) { const w = waiting; waiting = null; w(frame); }
    }
  });
  try {
    for (const m of messages) {
      const ack = await new Promise((resolve, reject) => {
        waiting = resolve;
        setTimeout(() => reject(new Error('no HL7 ACK within 10 s')), 10_000).unref();
        sock.write(`\x0b${m}\x1c\r`);
      });
      acks.push(ack);
    }
  } finally {
    sock.end();
  }
  return acks;
}

/** ORM^O01 status change SC with ORC-5 CM (HL7 v2.5.1 4.5.1, table 0038): the RIS's "exam completed". */
function completedMessage(order, n) {
  const ts = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return [
    `MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|${ts}+0000||ORM^O01^ORM_O01|SCH${n}|P|2.5.1`,
    `PID|1||${order.patient_id}^^^HOSP||${order.patient_name}||${order.birth_date}|${order.sex}`,
    `ORC|SC|${order.placer_order_number}|||CM`,
  ].join('\r');
}

test('scheduling page: a week of three scanners, outcomes, idle time and the high-risk appointments', { timeout: TEST_TIMEOUT_MS }, async () => {
  checkPrerequisites([], [[path.join(APP_DIR, 'index.html'), 'the web app, built by make into web/dist']]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'radflow-scheduling-'));
  log(`temp folder ${tmp}; screenshots in ${ARTIFACTS}`);
  const dataDir = path.join(tmp, 'data');
  const serverLog = path.join(tmp, 'radflow.log');
  const emptyApps = path.join(tmp, 'no-apps');
  fs.mkdirSync(emptyApps, { recursive: true });
  let server = null;
  let context = null;
  let page = null;
  let seen = null;
  let passed = false;
  try {
    // 1. the model and the server
    let model = process.env.RADFLOW_NOSHOW_MODEL || '';
    if (!model) {
      checkPrerequisites([], [[TABLE, 'the no-show appointments table (../shared/data/tables/noshow_appointments)']]);
      model = path.join(tmp, 'noshow-model.json');
      const t = Date.now();
      execFileSync(RADFLOW_BIN, ['noshow', 'train', '--table', TABLE, '--out', model], { stdio: ['ignore', 'pipe', 'pipe'] });
      log(`no-show model trained in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const hoursFile = path.join(tmp, 'station-hours.json');
    fs.writeFileSync(hoursFile, JSON.stringify(STATIONS.map(({ station_ae, open, close, days }) => ({ station_ae, open, close, ...(days ? { days } : {}) }))));
    const hl7Port = await freePort();
    const started = await startRadflow({
      dataDir, logFile: serverLog, auth: true, env: { RADFLOW_APPS_DIR: emptyApps },
      args: ['--web-dir', WEB_DIR, '--app-dir', APP_DIR, '--noshow-model', model, '--station-hours', hoursFile,
        '--no-show-grace-minutes', '100000', '--hl7-port', String(hl7Port)],
    });
    server = started.server;
    const { base } = started;
    tokenFor(base, TECH, 'technologist');
    provisionUser(dataDir, MANAGER, 'administrator');

    // 2. the week, booked
    const now = Date.now();
    const today = new Date(now);
    const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 3).getTime();
    const end = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 4).getTime();
    const tag = String(now % 100000);
    const week = weekOrders(tag, start, { now });
    const prior = priorMisses(tag, start);
    const t0 = Date.now();
    const created = new Map();  // key -> order
    await pool([...prior, ...week], 6, async ({ key, body }) => {
      const o = await api(base, 'POST', '/api/v1/orders', body);
      assert.ok(o.id > 0, `POST /api/v1/orders ${key}`);
      assert.equal(o.booked_at, body.booked_at, 'booked_at kept');
      created.set(key, o);
    });
    log(`${week.length} appointments of the week and ${prior.length} earlier ones booked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // outcomes: over = the slot ended 5 minutes ago or more
    const rand = rng(1414);
    const outcome = new Map();  // key -> completed | no_show | cancelled | scheduled
    for (const { key } of prior) outcome.set(key, 'no_show');
    for (const { key, body, unreliable } of week) {
      const over = body.scheduled_at + body.duration_minutes * 60_000 < now - 5 * 60_000;
      const lead = body.scheduled_at - body.booked_at;
      const r = rand();
      if (r < 0.03) outcome.set(key, 'cancelled');
      else if (!over) outcome.set(key, 'scheduled');
      else if (unreliable || r < 0.09 + (lead > 14 * DAY ? 0.08 : 0)) outcome.set(key, 'no_show');
      else outcome.set(key, 'completed');
    }
    const keysWith = (s) => [...outcome].filter(([, v]) => v === s).map(([k]) => k);
    await pool(keysWith('no_show'), 6, (k) => api(base, 'POST', `/api/v1/orders/${created.get(k).id}/status`, { status: 'no_show' }));
    await pool(keysWith('cancelled'), 6, (k) => api(base, 'POST', `/api/v1/orders/${created.get(k).id}/cancel`, { reason: 'patient called to cancel' }));
    const completed = keysWith('completed');
    const acks = await mllpSend(hl7Port, completed.map((k, i) => completedMessage(created.get(k), i)));
    acks.forEach((a, i) => assert.match(a, /\rMSA\|AA\|/, `HL7 ACK of ${completed[i]}: ${a.replace(/\r/g, ' | ')}`));
    log(`outcomes: ${completed.length} completed (HL7 SC/CM), ${keysWith('no_show').length} no-shows, ` +
        `${keysWith('cancelled').length} cancelled, ${keysWith('scheduled').length} still to come`);

    // every appointment still ahead is scored (the server re-scores after new orders, 10 s tick)
    await waitFor('the appointments ahead scored', async () => {
      const ahead = await api(base, 'GET', `/api/v1/orders?status=scheduled&from=${Date.now()}&to=${end}&limit=5000`);
      return ahead.items.length > 0 && ahead.items.every((o) => o.noshow_risk >= 0);
    }, 60_000, 1000);

    // 3. the API against the bookkeeping of the test
    const days = await api(base, 'GET', `/api/v1/scheduling/days?from=${start}&to=${end}`);
    assert.equal(days.days.length, STATIONS.length * 7, 'one row per scanner and day');
    for (const st of STATIONS) {
      for (let i = 0; i < 7; i++) {
        const dayStart = new Date(new Date(start).getFullYear(), new Date(start).getMonth(), new Date(start).getDate() + i).getTime();
        const open = openOn(st, dayStart) ? hhmm(st.close) - hhmm(st.open) : 0;  // closed: no hours
        const date = ymd(dayStart);
        const mine = week.filter(({ body }) => body.station_ae === st.station_ae && ymd(body.scheduled_at) === date);
        const count = (s) => mine.filter(({ key }) => outcome.get(key) === s).length;
        const d = days.days.find((x) => x.station_ae === st.station_ae && x.date === date);
        assert.ok(d, `${st.station_ae} ${date} in the answer`);
        const booked = mine.length - count('cancelled');
        const want = {
          booked, performed: count('completed'), no_shows: count('no_show'), cancelled: count('cancelled'),
          pending: count('scheduled'), open_minutes: open, booked_minutes: booked * st.slot,
          performed_minutes: count('completed') * st.slot, no_show_minutes: count('no_show') * st.slot,
          unbooked_minutes: open - booked * st.slot,
        };
        // idle so far: the open time already past with no exam (today depends on the clock)
        if (i === 3 && !open) Object.assign(want, { idle_minutes: 0, elapsed_minutes: 0 });
        if (i < 3) Object.assign(want, { idle_minutes: open - count('completed') * st.slot, elapsed_minutes: open });
        if (i > 3) Object.assign(want, { idle_minutes: 0, elapsed_minutes: 0 });
        const got = Object.fromEntries(Object.keys(want).map((k) => [k, d[k]]));
        assert.deepEqual(got, want, `${st.station_ae} ${date}`);
        if (i >= 4 && want.pending) {  // a day after today: every appointment scored by the model
          assert.equal(d.scored, want.pending, `${st.station_ae} ${date}: scored`);
          assert.ok(d.expected_no_shows > 0, `${st.station_ae} ${date}: expected no-shows from the model`);
        }
      }
    }
    // the reminder reached three of the unreliable patients (the desk's call): "confirm by phone"
    const reminded = week.filter(({ key, unreliable, body }) => unreliable && outcome.get(key) === 'scheduled' && body.scheduled_at > Date.now() + 60_000)
      .slice(0, 3).map(({ key }) => created.get(key).id);
    for (const id of reminded) assert.equal((await api(base, 'POST', `/api/v1/orders/${id}/reminder`, { sent: true })).reminder_sent, true);
    const riskyFrom = Date.now();
    const allScheduled = (await api(base, 'GET', `/api/v1/orders?status=scheduled&from=${riskyFrom}&to=${end}&limit=5000`)).items;
    const risks = allScheduled.map((o) => o.noshow_risk).sort((a, b) => b - a);
    log(`risks of the ${risks.length} appointments ahead: max ${risks[0]?.toFixed(3)}, ` +
        `p90 ${risks[Math.floor(risks.length * 0.1)]?.toFixed(3)}, median ${risks[Math.floor(risks.length / 2)]?.toFixed(3)}`);
    const unreliableAhead = week.filter(({ key, unreliable, body }) => unreliable && outcome.get(key) === 'scheduled' && body.scheduled_at > riskyFrom)
      .map(({ key }) => created.get(key).id);
    const riskOf = new Map(allScheduled.map((o) => [o.id, o.noshow_risk]));
    const meanOf = (ids) => ids.reduce((s, id) => s + riskOf.get(id), 0) / Math.max(1, ids.length);
    const othersAhead = allScheduled.map((o) => o.id).filter((id) => !unreliableAhead.includes(id));
    log(`mean risk: unreliable patients ${meanOf(unreliableAhead).toFixed(3)} (${unreliableAhead.length}), others ${meanOf(othersAhead).toFixed(3)}`);
    assert.ok(meanOf(unreliableAhead) > meanOf(othersAhead), 'the model rates the patients who missed before higher');
    // the page's default threshold, unless the model's scores of this week all lie below it
    const threshold = risks.filter((r) => r >= 0.5).length >= 6 ? 0.5 : Math.floor(risks[Math.min(5, risks.length - 1)] * 100) / 100;
    const risky = await api(base, 'GET', `/api/v1/scheduling/risky?from=${riskyFrom}&to=${end}&threshold=${threshold}`);
    assert.equal(risky.model, true);
    assert.ok(risky.items.length >= 3, `high-risk appointments at ${threshold}: ${risky.items.length}`);
    for (let i = 0; i < risky.items.length; i++) {
      const { order: o, action, why } = risky.items[i];
      assert.equal(o.status, 'scheduled');
      assert.ok(o.noshow_risk >= threshold);
      if (i) assert.ok(risky.items[i - 1].order.noshow_risk >= o.noshow_risk, 'highest risk first');
      assert.ok(ACTIONS.has(action), action);
      const wantAction = o.reminder_sent ? 'confirm by phone' : o.noshow_risk >= risky.overbook ? 'overbook slot' : 'reminder call';
      assert.equal(action, wantAction, `order ${o.id} risk ${o.noshow_risk}`);
      assert.match(why, new RegExp(`${Math.round(o.noshow_risk * 100)}%`));
    }
    assert.ok(risky.items.some((x) => x.action === 'confirm by phone'), 'a reminded high-risk appointment: confirm by phone');
    log(`high-risk at ${threshold}: ${risky.items.length} (${[...ACTIONS].map((a) => `${risky.items.filter((x) => x.action === a).length} ${a}`).join(', ')})`);
    // errors and roles
    for (const [q, name] of [['from=abc', 'from'], [`from=${end}&to=${start}`, 'to'], ['threshold=2', 'threshold']]) {
      const res = await fetch(`${base}/api/v1/scheduling/${name === 'threshold' ? 'risky' : 'days'}?${q}`, { headers: TECH_HEADERS });
      assert.equal(res.status, 400, q);
      assert.match((await res.json()).error, new RegExp(`^${name}:`), q);
    }
    provisionUser(dataDir, 'dr.ref', 'referring', { referringName: 'Adeyemi^Folake^^Dr' });
    const refused = await fetch(`${base}/api/v1/scheduling/days`, { headers: { Authorization: `Bearer ${createToken(dataDir, 'dr.ref')}` } });
    assert.equal(refused.status, 403, 'a referring physician does not see scheduling');
    const stations = await api(base, 'GET', '/api/v1/scheduling/stations');
    assert.deepEqual(stations.stations.map((s) => [s.station_ae, s.open, s.close, s.configured]),
      STATIONS.map((s) => [s.station_ae, s.open, s.close, true]));

    // 4. the page, as the manager
    context = await launchChromium(path.join(tmp, 'profile'), { width: 1600, height: 1000 });
    await signInContext(context, base, MANAGER);
    page = context.pages()[0] ?? await context.newPage();
    seen = watch(page, MANAGER);
    let pageRisky = '';  // the page's own high-risk request (its "from" is the page's clock)
    page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname === '/api/v1/scheduling/risky') pageRisky = u.pathname + u.search; });
    await page.goto(`${base}/worklist`);
    await page.getByTestId('nav-scheduling').click();
    await waitFor('on /scheduling', async () => new URL(page.url()).pathname === '/scheduling', 5_000);
    await page.goto(`${base}/scheduling?week=${isoDay(start)}&threshold=${threshold}`);
    await page.getByTestId('station-chart').first().waitFor({ timeout: 15_000 });
    await page.getByTestId('risky-table').waitFor({ timeout: 15_000 });
    const fresh = await api(base, 'GET', `/api/v1/scheduling/days?from=${start}&to=${end}`);
    const sum = (k) => fresh.days.reduce((s, d) => s + d[k], 0);
    const tile = async (id) => page.getByTestId(id).innerText();
    assert.match(await tile('tile-booked'), new RegExp(`\\b${sum('booked')}\\b`));
    assert.match(await tile('tile-performed'), new RegExp(`\\b${sum('performed')}\\b`));
    assert.match(await tile('tile-noshows'), new RegExp(`\\b${sum('no_shows')}\\b`));
    // idle so far grows with the clock while the scanners are open: the page's figure (0.1 h
    // steps) may be a few minutes behind the fresh answer — within 0.2 h (3 scanners × 2 min + rounding)
    const idleShown = Number(/([\d.]+) h/.exec(await tile('tile-idle'))[1]);
    assert.ok(Math.abs(idleShown - sum('idle_minutes') / 60) <= 0.2, `idle ${idleShown} h vs ${sum('idle_minutes') / 60} h`);
    const charts = await page.getByTestId('station-chart').evaluateAll((els) => els.map((e) => ({
      station: e.dataset.station, bars: e.querySelectorAll('[data-testid=day-bar]').length, label: e.getAttribute('aria-label'),
    })));
    assert.deepEqual(charts.map((c) => [c.station, c.bars]), STATIONS.map((s) => [s.station_ae, 7]));
    for (const c of charts) {
      const mine = fresh.days.filter((d) => d.station_ae === c.station);
      const perf = mine.reduce((s, d) => s + d.performed, 0);
      const booked = mine.reduce((s, d) => s + d.booked, 0);
      assert.ok(c.label.includes(`${perf} of ${booked} booked exams performed`), c.label);
    }
    assert.equal(await page.getByTestId('noshow-chart').count(), 1);
    const tableRows = await page.locator('[data-testid=days-table] tbody tr').evaluateAll((rows) => rows.map((r) => ({
      station: r.dataset.station, date: r.dataset.date,
      booked: Number(r.querySelector('[data-col=booked]').textContent), noShows: Number(r.querySelector('[data-col=no_shows]').textContent),
    })));
    assert.equal(tableRows.length, STATIONS.length * 7);
    for (const r of tableRows) {
      const d = fresh.days.find((x) => x.station_ae === r.station && x.date === r.date);
      assert.deepEqual([r.booked, r.noShows], [d.booked, d.no_shows], `${r.station} ${r.date}`);
    }
    assert.match(pageRisky, new RegExp(`threshold=${threshold}`), pageRisky);
    const riskyNow = await api(base, 'GET', pageRisky);
    const riskyRows = () => page.locator('[data-testid=risky-table] tbody tr').evaluateAll((rows) => rows.map((r) => ({
      id: Number(r.dataset.orderId), action: r.dataset.action, risk: r.querySelector('[data-testid=risk]').innerText.trim(),
    })));
    // the first 15, the count of each action, then all of them
    assert.deepEqual((await riskyRows()).map((r) => r.id), riskyNow.items.slice(0, 15).map((i) => i.order.id));
    assert.match(await page.getByTestId('risky-summary').innerText(), new RegExp(`^${riskyNow.items.length} appointments at risk`));
    if (riskyNow.items.length > 15) await page.getByTestId('risky-all').click();
    const shownRisky = await riskyRows();
    assert.deepEqual(shownRisky.map((r) => r.id), riskyNow.items.map((i) => i.order.id), 'the API\'s high-risk appointments, in its order');
    shownRisky.forEach((r, i) => {
      assert.equal(r.action, riskyNow.items[i].action);
      assert.equal(r.risk, `${Math.round(riskyNow.items[i].order.noshow_risk * 100)} %`);
    });
    if (riskyNow.items.length > 15) await page.getByTestId('risky-all').click();  // back to the first 15
    await page.screenshot({ path: path.join(ARTIFACTS, 'scheduling-week.png'), fullPage: true });
    await page.getByTestId('utilisation').screenshot({ path: path.join(ARTIFACTS, 'scheduling-scanners.png') });
    await page.getByTestId('risky').screenshot({ path: path.join(ARTIFACTS, 'scheduling-risky.png') });
    // one scanner
    await page.getByTestId('station-filter').selectOption('MR1');
    await waitFor('MR1 only', async () => (await page.getByTestId('station-chart').count()) === 1
      && (await page.getByTestId('station-chart').getAttribute('data-station')) === 'MR1', 10_000);
    assert.ok(new URL(page.url()).search.includes('station=MR1'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'scheduling-mr1.png'), fullPage: true });

    assert.deepEqual(seen.failures, [], 'failed API calls');
    assert.deepEqual(seen.pageErrors, [], 'errors in the page');
    passed = true;
  } finally {
    if (seen) {
      report('failed API answers', seen.failures.map((f) => `${f.page} ${f.status} ${f.method} ${f.url}${f.body ? ` ${f.body}` : ''}`));
      if (!passed) { report('page errors', seen.pageErrors); report('console errors', seen.consoleErrors); }
    }
    if (!passed) {
      if (page) await page.screenshot({ path: path.join(ARTIFACTS, 'scheduling-failure.png'), fullPage: true }).catch(() => {});
      if (fs.existsSync(serverLog)) console.log(`--- radflow log (tail):\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
      console.log(`--- kept ${tmp}`);
    }
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (passed && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
});
