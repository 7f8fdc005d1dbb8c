// realtime_page.test.mjs: the realtime test client page (/realtime/test-client.html),
// served by the binary, driven in Debian's headless Chromium through playwright-core.
//
// A server with a JWT secret, a token from `switchboard realtime token`, an operator
// key from `switchboard apikey add`; then, in the page: connect (connected, the
// transport shown, the upgrade to WebSocket), a ping REQUEST answered by a RESPONSE
// with its requestId, an UPDATE pushed through the operator API, the unknown-action
// and bad-token error cases, WebSocket-only and polling-only connections, and
// Disconnect. A screenshot of the page goes to $SB_TEST_ARTIFACTS (ctest sets
// build/test-artifacts) and its path is printed; when something fails, a screenshot
// and the page's log go with the error.
//
// Skipped (visibly) only when /usr/bin/chromium is absent: scripts/deps.sh installs it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, T, cleanup, request, startServer, withTimeout } from '../integration/harness.mjs';
import { ARTIFACTS, CHROMIUM, cli, playwright, skipWithoutChromium, step } from './browser.mjs';

const SECRET = 'browser-test-secret-0123456789abcdef'; // HS256 wants 32 bytes or more
const USER = 'browser-user';
const COMPANY = 'c-browser';
const SESSION = 's-browser';
const WAIT = T(10000); // every wait in the page


after(cleanup);

/** The page's log as text, for failure reports. */
async function pageLog(page) {
  try {
    return await page.locator('#log').innerText({ timeout: T(2000) });
  } catch (e) {
    return `(log unavailable: ${e.message})`;
  }
}

/** The log entry matching attrs (data-* of the <li>), once it appears. */
function entry(page, attrs) {
  const sel = Object.entries(attrs).map(([k, v]) => `[data-${k}="${v}"]`).join('');
  return page.locator(`#log li[data-testid="log-entry"]${sel}`);
}

async function waitEntry(page, attrs, what) {
  const loc = entry(page, attrs).last();
  try {
    await loc.waitFor({ state: 'attached', timeout: WAIT });
  } catch {
    throw new Error(`timeout after ${WAIT} ms waiting for ${what}; the page's log:\n${await pageLog(page)}`);
  }
  return loc;
}

async function waitState(page, state) {
  try {
    await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: WAIT });
  } catch {
    const now = await page.locator('#status').getAttribute('data-state');
    throw new Error(`status is "${now}", waited ${WAIT} ms for "${state}"; the page's log:\n${await pageLog(page)}`);
  }
}

/** Fill the connection form and press Connect. */
async function connect(page, { token, transport = 'transport-both', sessionId } = {}) {
  await page.getByTestId('token').fill(token);
  if (sessionId !== undefined) await page.getByTestId('session-id').fill(sessionId);
  await page.getByTestId(transport).check();
  await page.getByTestId('connect').click();
  await waitState(page, 'connected');
}

/** Send a ping from the request form; returns the RESPONSE entry's text. */
async function ping(page) {
  await page.getByTestId('action').selectOption('ping');
  const rid = await page.getByTestId('request-id').inputValue();
  assert.match(rid, /\S/, 'a requestId is filled in');
  await page.getByTestId('send').click();
  const resp = await waitEntry(page, { kind: 'RESPONSE', 'request-id': rid }, `RESPONSE to ${rid}`);
  assert.equal(await resp.getAttribute('data-action'), 'ping');
  return { rid, text: await resp.innerText() };
}

test('the realtime test client page in headless Chromium', {
  skip: skipWithoutChromium,
  timeout: T(120000),
}, async (t) => {
  const { chromium } = playwright();
  const server = await startServer({ demo: false, tag: 'browser', args: ['--jwt-secret', SECRET] });
  const token = cli(['realtime', 'token', '--user', USER, '--company', COMPANY, '--session', SESSION,
    '--ttl', '600', '--artifacts', '*', '--jwt-secret', SECRET]);
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, '`switchboard realtime token` prints a JWT');
  const keyLine = cli(['apikey', 'add', '--name', 'browser-test', '--db', server.db]).split('\t');
  const apiKey = keyLine[2];
  assert.match(apiKey, /^sbk_[0-9a-f]{64}$/, '`switchboard apikey add` prints ID, NAME, KEY');

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const shot = path.join(ARTIFACTS, 'realtime-test-client.png');
  fs.rmSync(shot, { force: true });

  let browser;
  let page;
  const pageErrors = [];
  const cspViolations = [];
  try {
    // launch's own timeout: past it playwright kills what it started
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: T(30000) });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });

    await step(t, 'the page loads with the socket.io-client bundle from the server', async () => {
      const res = await page.goto(`${server.base}/realtime/test-client.html`, { timeout: WAIT });
      assert.equal(res.status(), 200);
      assert.equal(await page.evaluate(() => typeof window.io), 'function', 'the bundle defined io()');
      assert.equal(await page.locator('#no-bundle').isHidden(), true, 'no missing-bundle warning');
      await waitState(page, 'disconnected');
      assert.equal(await page.getByTestId('transport').innerText(), 'none');
    });

    await step(t, 'connect with the token: connected, transport shown, upgraded to WebSocket', async () => {
      await page.getByTestId('token').fill(token);
      // the page fills sessionId from the token's session claim
      assert.equal(await page.getByTestId('session-id').inputValue(), SESSION);
      assert.match(await page.getByTestId('claims').textContent(), new RegExp(COMPANY), 'the claims are shown');
      await connect(page, { token });
      const connected = await waitEntry(page, { kind: 'connect', conn: 'main' }, 'the connect entry');
      assert.match(await connected.innerText(), /connected, socket id \S+, transport (polling|websocket)/);
      assert.match(await page.getByTestId('transport').innerText(), /^(polling|websocket)$/);
      assert.notEqual(await page.getByTestId('socket-id').innerText(), 'none');
      // polling first, then the upgrade (the default transports)
      await page.locator('#transport[data-transport="websocket"]').waitFor({ timeout: WAIT });
      assert.equal(await page.getByTestId('transport').innerText(), 'websocket');
    });

    await step(t, 'a ping REQUEST is answered by a RESPONSE with its requestId', async () => {
      const { rid, text } = await ping(page);
      assert.match(text, /"time"/, 'the RESPONSE shows its data');
      const sent = await waitEntry(page, { kind: 'SENT', 'request-id': rid }, 'the SENT entry');
      const sentText = await sent.innerText();
      assert.ok(sentText.includes(JSON.stringify({ type: 'REQUEST', requestId: rid, action: 'ping' })),
        `the exact text sent is shown: ${sentText}`);
      assert.notEqual(await page.getByTestId('request-id').inputValue(), rid, 'the next requestId is new');
    });

    await step(t, 'an UPDATE posted through the operator API appears', async () => {
      const requestId = 'u-browser-1';
      const r = await request(server, '/api/v1/realtime/updates', {
        method: 'POST',
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ company_id: COMPANY, action: 'statusChange', data: { status: 'completed', by: 'browser-test' }, requestId }),
      });
      assert.equal(r.status, 200, `POST /api/v1/realtime/updates: ${r.status} ${r.text}`);
      const upd = await waitEntry(page, { kind: 'UPDATE', 'request-id': requestId }, 'the UPDATE');
      assert.equal(await upd.getAttribute('data-action'), 'statusChange');
      const text = await upd.innerText();
      assert.match(text, /"status": "completed"/);
      assert.match(text, /"by": "browser-test"/);
    });

    await step(t, 'error case: unknown action shows ERROR UNKNOWN_ACTION', async () => {
      const before = await entry(page, { kind: 'SENT' }).count();
      await page.getByTestId('case-unknown-action').click();
      await entry(page, { kind: 'SENT' }).nth(before).waitFor({ state: 'attached', timeout: WAIT });
      const rid = await entry(page, { kind: 'SENT' }).nth(before).getAttribute('data-request-id');
      const err = await waitEntry(page, { kind: 'ERROR', 'request-id': rid }, `ERROR for ${rid}`);
      assert.equal(await err.getAttribute('data-code'), 'UNKNOWN_ACTION');
      assert.match(await err.innerText(), /UNKNOWN_ACTION: \S/, 'code and message shown');
    });

    await step(t, 'error case: a bad token is refused with connect_error; the main connection stays', async () => {
      await page.getByTestId('case-bad-token').click();
      const ce = await waitEntry(page, { kind: 'connect_error', conn: 'bad token' }, 'connect_error of the bad-token probe');
      assert.match(await ce.innerText(), /"message": "\S/, 'the refusal\'s message is shown');
      assert.equal(await entry(page, { kind: 'connect', conn: 'bad token' }).count(), 0, 'the probe was not let in');
      assert.equal(await page.getByTestId('status').getAttribute('data-state'), 'connected');
    });

    // the screenshot shows the connection, the exchange, the UPDATE and the errors
    await step(t, 'screenshot', async () => {
      await page.screenshot({ path: shot, timeout: WAIT });
      assert.ok(fs.statSync(shot).size > 10000, 'a screenshot was written');
      t.diagnostic(`screenshot: ${shot}`);
    });

    await step(t, 'WebSocket only, then polling only', async () => {
      await connect(page, { token, transport: 'transport-websocket' });
      assert.equal(await page.getByTestId('transport').innerText(), 'websocket');
      await ping(page);
      await connect(page, { token, transport: 'transport-polling' });
      assert.equal(await page.getByTestId('transport').innerText(), 'polling');
      await ping(page);
      assert.equal(await page.getByTestId('transport').innerText(), 'polling', 'no upgrade');
    });

    await step(t, 'Disconnect', async () => {
      const before = await entry(page, { kind: 'disconnect', conn: 'main' }).count();
      await page.getByTestId('disconnect').click();
      await waitState(page, 'disconnected');
      assert.equal(await page.getByTestId('transport').innerText(), 'none');
      assert.equal(await entry(page, { kind: 'disconnect', conn: 'main' }).count(), before + 1, 'one disconnect entry');
      assert.equal(await page.getByTestId('disconnect').isDisabled(), true);
    });

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(cspViolations, [], 'nothing the page does is blocked by its Content-Security-Policy');
  } catch (e) {
    if (page) {
      const failShot = path.join(ARTIFACTS, 'realtime-test-client-failed.png');
      await page.screenshot({ path: failShot, fullPage: true, timeout: T(5000) }).then(
        () => console.log(`screenshot of the failure: ${failShot}`), () => {});
      console.log(`the page's log:\n${await pageLog(page)}`);
    }
    if (pageErrors.length) console.log(`errors in the page: ${pageErrors.join(' | ')}`);
    console.log(`server stderr (last 3000 bytes):\n${server.stderr.slice(-3000)}`);
    throw e;
  } finally {
    if (browser) await withTimeout(browser.close(), T(10000), 'browser close').catch(() => {});
  }
});
