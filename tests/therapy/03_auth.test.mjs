// 03_auth: sessions and CSRF (bad-input table rows 27-29 and 32).
// Every endpoint but login/verifyCode answers 401 AUTH_REQUIRED without a
// cookie, with a made-up one, with the pre-login cookie after success (27),
// after logout (28), after --session-idle and after --session-max (an active
// session stays alive under --session-idle); CSRF (29): no / a wrong
// X-CSRF-Token, a foreign Origin, Sec-Fetch-Site: cross-site -> 403 CSRF_FAILED
// and nothing stored, while a GET needs no token; isolation (32): getActions
// never returns another therapy session's actions whatever last_action_id,
// entering a session one is not in or that does not exist is the same 403,
// getActions/saveActions before entering -> 409 NO_CURRENT_SESSION.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addGroup, addUser, addSession, Browser, browserIn, req, API, msg,
  isError, checkActions, T, sleep, waitLog,
} from './th.mjs';

/** every endpoint behind the session, with a valid body */
const ENDPOINTS = (ts) => [
  ['GET', 'session'],
  ['GET', 'getTherapySessions'],
  ['POST', 'logout', undefined],
  ['POST', 'enterTherapySession', { ts_id: ts }],
  ['POST', 'getTherapySessionDetail', { ts_id: ts }],
  ['POST', 'getTherapySessionAssessments', { ts_id: ts, p_id: 'P1' }],
  ['POST', 'getActions', { last_action_id: 0 }],
  ['POST', 'saveActions', []],
];

async function allRefused(s, ts, headers, what) {
  for (const [method, name, body] of ENDPOINTS(ts)) {
    const r = await req(s, `${API}/${name}`, { method, headers, body });
    try {
      isError(r, 'AUTH_REQUIRED');
    } catch (e) {
      throw new Error(`${what}: ${method} ${name}: ${e.message}`);
    }
  }
}

let s; let g; let idle; let max;
before(async () => {
  [s, idle, max] = await Promise.all([
    startTherapy(),
    startTherapy({ args: ['--session-idle', '2'] }),
    startTherapy({ args: ['--session-max', '3'] }),
  ]);
  g = addGroup(s.db, 3);
});
after(cleanup);

test('401 without a cookie, with a made-up one, a malformed one', async () => {
  await allRefused(s, g.ts, {}, 'no cookie');
  await allRefused(s, g.ts, { Cookie: `sb_therapy=${'ab'.repeat(32)}` }, 'made-up cookie');
  await allRefused(s, g.ts, { Cookie: 'sb_therapy=x' }, 'short cookie');
  await allRefused(s, g.ts, { Cookie: `other=1; sb_therapy=${'0'.repeat(64)}` }, 'zeros');
});

test('row 27: the pre-login cookie is dead after success; row 28: logout ends the session', async () => {
  const b = await browserIn(s, g.people[0], g.ts, 'p0');
  const other = await browserIn(s, g.people[1], g.ts, 'p1');
  assert.notEqual(b.preLogin, b.cookie);
  await allRefused(s, g.ts, { Cookie: `sb_therapy=${b.preLogin}` }, 'pre-login cookie');
  const last = checkActions(await other.actions(0), 0).max_id;
  const old = { cookie: b.cookie, csrf: b.csrf };
  const out = await b.post('logout', undefined);
  assert.equal(out.status, 200, out.text);
  assert.deepEqual(out.json, { result: 'Logged out' });
  assert.match(out.setCookies[0], /^sb_therapy=;/);
  assert.match(out.setCookies[0], /Max-Age=0/i);
  await allRefused(s, g.ts, { Cookie: `sb_therapy=${old.cookie}`, 'X-CSRF-Token': old.csrf }, 'after logout');
  // the others are told (the document's "Foo has left the session")
  const n = checkActions(await other.actions(last), last).actions;
  assert.equal(n.length, 1);
  assert.deepEqual({ ...n[0], id: 0, timestamp: 0 }, { id: 0, type: 'notice', body: `${g.people[0].name} has left the session`, sender: 'system', recipients: [], timestamp: 0 });
});

test('a new login from a logged-in browser ends its session; a new session gets a new CSRF token', async () => {
  const other = await browserIn(s, addUser(s.db, { name: 'Relog' }), 0, 'relog');
  const old = { cookie: other.cookie, csrf: other.csrf };
  const again = await other.post('login', { phone: '+15559990000', last_name: 'Nobody' });
  assert.equal(again.status, 200);
  await allRefused(s, g.ts, { Cookie: `sb_therapy=${old.cookie}`, 'X-CSRF-Token': old.csrf }, 'after a new login');
});

test('--session-idle: an unused session ends, a used one lives on', async () => {
  const gi = addGroup(idle.db, 2);
  const [used, unused] = await Promise.all([browserIn(idle, gi.people[0], gi.ts), browserIn(idle, gi.people[1], gi.ts)]);
  for (let i = 0; i < 4; i++) {
    await sleep(900); // under the 2 s idle limit: a server time, not scaled
    const r = await used.get('session');
    assert.equal(r.status, 200, `an active session is alive at ${i + 1} s (idle limit 2 s): ${r.text}`);
  }
  await allRefused(idle, gi.ts, { Cookie: `sb_therapy=${unused.cookie}`, 'X-CSRF-Token': unused.csrf }, 'idle');
  await waitLog(idle, /event=therapy_session_expired user=\S+ reason=idle/);
});

test('--session-max: a session ends that long after login, used or not', async () => {
  const gm = addGroup(max.db, 1);
  const b = await browserIn(max, gm.people[0], gm.ts);
  const t0 = Date.now();
  while (Date.now() - t0 < 2000) {
    assert.equal((await b.get('session')).status, 200);
    await sleep(300);
  }
  await sleep(T(1500));
  await allRefused(max, gm.ts, { Cookie: `sb_therapy=${b.cookie}`, 'X-CSRF-Token': b.csrf }, 'max');
  await waitLog(max, /event=therapy_session_expired user=\S+ reason=absolute/);
});

test('row 29: CSRF: missing or wrong token, foreign Origin, cross-site -> 403, nothing stored', async () => {
  const b = await browserIn(s, g.people[2], g.ts, 'p2');
  const last = checkActions(await b.actions(0), 0).max_id;
  const body = [msg(b.user, 'csrf attempt')];
  const cookie = `sb_therapy=${b.cookie}`;
  const cases = [
    [{ Cookie: cookie }, 'missing X-CSRF-Token'],
    [{ Cookie: cookie, 'X-CSRF-Token': 'f'.repeat(64) }, 'wrong X-CSRF-Token'],
    [{ Cookie: cookie, 'X-CSRF-Token': b.csrf.slice(0, 63) }, 'wrong X-CSRF-Token'],
    [{ Cookie: cookie, 'X-CSRF-Token': b.csrf, Origin: 'https://evil.example' }, 'Origin'],
    [{ Cookie: cookie, 'X-CSRF-Token': b.csrf, Origin: `http://127.0.0.1:${s.port}.evil.example` }, 'Origin'],
    [{ Cookie: cookie, 'X-CSRF-Token': b.csrf, 'Sec-Fetch-Site': 'cross-site' }, 'cross-site'],
  ];
  for (const [headers, detail] of cases) {
    isError(await req(s, `${API}/saveActions`, { headers, body }), 'CSRF_FAILED', { detail });
    isError(await req(s, `${API}/enterTherapySession`, { headers, body: { ts_id: g.ts } }), 'CSRF_FAILED');
    isError(await req(s, `${API}/logout`, { headers }), 'CSRF_FAILED');
  }
  const after1 = checkActions(await b.actions(last), last);
  assert.deepEqual(after1.actions, []);
  // the session is still alive (a refused logout did not end it)
  assert.equal((await b.get('session')).status, 200);
  // a GET needs no token; same-origin Origin with the token works
  const home = await req(s, `${API}/getTherapySessions`, { method: 'GET', headers: { Cookie: cookie } });
  assert.equal(home.status, 200);
  const ok = await req(s, `${API}/saveActions`, { headers: { Cookie: cookie, 'X-CSRF-Token': b.csrf, Origin: `http://127.0.0.1:${s.port}`, 'Sec-Fetch-Site': 'same-origin' }, body });
  assert.equal(ok.status, 200, ok.text);
  // login and verifyCode from another site are refused too
  isError(await req(s, `${API}/login`, { headers: { Origin: 'https://evil.example' }, body: { phone: '+15550000000', last_name: 'X' } }), 'CSRF_FAILED');
  isError(await req(s, `${API}/verifyCode`, { headers: { 'Sec-Fetch-Site': 'cross-site' }, body: { code: '123456' } }), 'CSRF_FAILED');
});

test('--cors-origins: a listed origin may post (as the runtime CORS answers it), others may not', async () => {
  const c = await startTherapy({ args: ['--cors-origins', 'https://app.example, https://b.example'] });
  const gc = addGroup(c.db, 1);
  const b = await browserIn(c, gc.people[0], gc.ts);
  for (const origin of ['https://app.example', 'https://b.example']) {
    // the preflight says yes, with credentials ...
    const pre = await req(c, `${API}/saveActions`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-csrf-token' } });
    assert.equal(pre.headers['access-control-allow-origin'], origin, `preflight for ${origin}`);
    // ... so the POST itself must not be refused as cross-site
    const r = await b.save([msg(b.user, `from ${origin}`)], { headers: { Origin: origin } });
    assert.equal(r.status, 200, `${origin}: ${r.text}`);
  }
  const evil = await b.post('saveActions', [msg(b.user, 'evil')], { headers: { Origin: 'https://evil.example' } });
  isError(evil, 'CSRF_FAILED');
  const bodies = checkActions(await b.actions(0), 0).actions.map((a) => a.body);
  assert.deepEqual(bodies, ['from https://app.example', 'from https://b.example']);
  await c.stop('SIGKILL');
});

test('row 32: isolation between therapy sessions; 409 before entering', async () => {
  // a second session: its own people, a secret message
  const other = addGroup(s.db, 1, { tag: 'B' });
  const ob = await browserIn(s, other.people[0], other.ts, 'b0');
  const secret = await ob.save([msg(ob.user, 'secret-of-B'), msg(ob.user, 'secret-of-B-2')]);
  assert.equal(secret.status, 200);
  const [b1, b2] = secret.json.ids;
  const u = addUser(s.db, { name: 'Lone' });
  addSession(s.db, { participants: [u.id], therapist: g.therapist.id });
  const a = new Browser(s, 'lone');
  await a.login(u);
  // before entering
  isError(await a.post('getActions', { last_action_id: 0 }), 'NO_CURRENT_SESSION');
  isError(await a.post('saveActions', [msg(u.id, 'x')]), 'NO_CURRENT_SESSION');
  // not a member / no such session: byte-identical refusals
  const notIn = await a.post('enterTherapySession', { ts_id: other.ts });
  const none = await a.post('enterTherapySession', { ts_id: 999999 });
  isError(notIn, 'NOT_ALLOWED_IN_SESSION');
  assert.equal(none.status, notIn.status);
  assert.equal(none.text, notIn.text);
  isError(await a.post('getTherapySessionDetail', { ts_id: other.ts }), 'NOT_ALLOWED_IN_SESSION');
  isError(await a.post('getTherapySessionAssessments', { ts_id: other.ts, p_id: other.people[0].id }), 'NOT_ALLOWED_IN_SESSION');
  // still no current session after a refused enter
  isError(await a.post('getActions', { last_action_id: 0 }), 'NO_CURRENT_SESSION');
  // a member of g.ts, whatever last_action_id
  const p = await browserIn(s, g.therapist, g.ts, 'dr');
  isError(await p.post('getActions', { last_action_id: -1 }), 'INVALID_REQUEST', { detail: 'last_action_id' });
  for (const last of [0, b1 - 1, b1, b2 - 1, 1]) {
    const r = await p.actions(last);
    checkActions(r, last);
    assert.ok(!r.text.includes('secret-of-B'), `last_action_id ${last}`);
    for (const x of r.json.actions) assert.ok(x.id !== b1 && x.id !== b2);
  }
  const big = await p.post('getActions', '{"last_action_id": 9223372036854775807}');
  assert.equal(big.status, 200, big.text);
  assert.match(big.text, /"max_id":9223372036854775807,"actions":\[\]/);
  const huge = await p.post('getActions', '{"last_action_id": 9223372036854775808}');
  isError(huge, 'INVALID_REQUEST');
  // saveActions may not touch B's messages
  isError(await p.save([{ client_ts: '2023-08-02T22:02:53.375Z', type: 'reaction', target: b1, user: p.user, icon: 'heart' }]), 'ACTION_REFUSED', { detail: '[0].target' });
  isError(await p.save([{ client_ts: '2023-08-02T22:02:53.375Z', type: 'delete', target: b1 }]), 'ACTION_REFUSED', { detail: '[0].target' });
  const still = checkActions(await ob.actions(0), 0);
  assert.deepEqual(still.actions.map((x) => x.id), [b1, b2]);
});
