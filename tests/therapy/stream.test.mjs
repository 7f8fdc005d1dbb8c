// stream.test.mjs: getActions as a WebSocket stream (/api/therapy/stream), with
// node `ws` against the binary on its demo data (a therapist, two participants, one
// therapy session; codes read from sms.jsonl beside the database).
//
// The backlog above last_action_id and then each action as it is stored, frame by
// frame in getActions' shape; private actions only to their audience; the upgrade
// refused as HTTP with the protocol's error body (another site's Origin, no session,
// no current session, a bad last_action_id); logout closes the stream; a message
// reaches a stream and a held long poll, and both latencies are printed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WebSocket, T, cleanup, startServer, sleep } from '../integration/harness.mjs';

after(cleanup);

function client(s) {
  const base = `${s.base}/api/therapy`;
  const jar = {};
  jar.call = async (p, body, method = 'POST') => {
    const headers = { 'Content-Type': 'application/json' };
    if (jar.cookie) headers.Cookie = jar.cookie;
    if (jar.csrf) headers['X-CSRF-Token'] = jar.csrf;
    const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = r.headers.get('set-cookie');
    if (set) jar.cookie = set.split(';')[0];
    return { status: r.status, json: await r.json() };
  };
  return jar;
}

async function login(s, phone, last, { enter = true } = {}) {
  const c = client(s);
  const sms = path.join(s.dir, 'sms.jsonl');
  const before = fs.existsSync(sms) ? fs.readFileSync(sms, 'utf8') : '';
  assert.equal((await c.call('/login', { phone, last_name: last })).status, 200);
  let code;
  for (let i = 0; i < 100 && !code; i++) {
    const text = fs.existsSync(sms) ? fs.readFileSync(sms, 'utf8') : '';
    const fresh = text.slice(before.length).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.to === phone);
    code = fresh.length && /(\d{6})/.exec(fresh.at(-1).body)[1];
    if (!code) await sleep(20);
  }
  assert.ok(code, `a code for ${phone}`);
  const v = await c.call('/verifyCode', { code });
  assert.equal(v.status, 200, JSON.stringify(v.json));
  c.csrf = v.json.csrf_token;
  if (enter) assert.equal((await c.call('/enterTherapySession', { ts_id: 1 })).status, 200);
  return c;
}

const message = (user, body, recipients = []) => ({
  client_ts: new Date().toISOString(), type: 'message', user, recipients, body,
  character_history: [...body], time_to_complete: '42ms', target: null,
});

/** A stream: its frames as they come, and its end. */
function stream(s, c, query = '', headers = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api/therapy/stream${query}`, { headers: { Cookie: c.cookie || '', ...headers } });
  const frames = [];
  const st = { ws, frames, closed: null, refused: null };
  ws.on('message', (m) => frames.push({ at: performance.now(), json: JSON.parse(m) }));
  ws.on('close', (code, reason) => { st.closed = { code, reason: String(reason) }; });
  ws.on('error', () => {});
  ws.on('unexpected-response', (req, res) => {
    let b = '';
    res.on('data', (d) => { b += d; });
    res.on('end', () => { st.refused = { status: res.statusCode, body: b }; });
  });
  st.opened = new Promise((res, rej) => { ws.on('open', res); ws.on('close', () => rej(new Error('closed'))); ws.on('unexpected-response', () => rej(new Error('refused'))); });
  st.opened.catch(() => {});
  st.waitFrames = async (n) => {
    for (let i = 0; i < T(200) && frames.length < n; i++) await sleep(10);
    assert.ok(frames.length >= n, `${n} frames, got ${JSON.stringify(frames.map((f) => f.json))}`);
  };
  st.waitRefused = async () => {
    for (let i = 0; i < T(200) && !st.refused; i++) await sleep(10);
    return st.refused;
  };
  return st;
}

test('the stream sends the backlog, then each action as stored, in getActions\' shape; private ones only to their audience', async () => {
  const s = await startServer({ tag: 'tstream' });
  const sam = await login(s, '+15555550101', 'Lee');
  const doc = await login(s, '+15555550100', 'Rivera');
  const alex = await login(s, '+15555550102', 'Kim');
  const first = await sam.call('/saveActions', [message('P123', 'before the stream')]);
  assert.equal(first.status, 200);

  const a = stream(s, alex, '?last_action_id=0');
  const d = stream(s, doc, `?last_action_id=${first.json.max_id}`);
  await a.opened;
  await d.opened;
  await a.waitFrames(1); // the backlog
  const backlog = a.frames[0].json;
  assert.deepEqual(Object.keys(backlog), ['result', 'server_time', 'max_id', 'actions']);
  assert.equal(backlog.result, 'ok');
  assert.equal(backlog.max_id, first.json.ids[0]);
  assert.ok(Math.abs(backlog.server_time / 1000 - Date.now()) < 5000, 'server_time is µs since the epoch');
  assert.deepEqual(backlog.actions.map((x) => x.body), ['before the stream']);
  assert.equal(d.frames.length, 0, 'nothing above last_action_id yet');

  const saved = await sam.call('/saveActions', [message('P123', 'to everyone'), message('P123', 'only for the doctor', ['123XYZ'])]);
  assert.equal(saved.status, 200);
  await d.waitFrames(2);
  await a.waitFrames(2);
  await sleep(100);
  // one frame per action, max_id its ID, the action exactly as getActions has it
  const got = await doc.call('/getActions', { last_action_id: first.json.max_id });
  assert.deepEqual(d.frames.map((f) => f.json.actions[0]), got.json.actions);
  assert.deepEqual(d.frames.map((f) => f.json.max_id), saved.json.ids);
  // Alex sees the public one only
  assert.deepEqual(a.frames.slice(1).map((f) => f.json.actions.map((x) => x.body)), [['to everyone']]);
  const alexView = await alex.call('/getActions', { last_action_id: 0 });
  assert.deepEqual(alexView.json.actions.map((x) => x.body), ['before the stream', 'to everyone']);

  // a reaction to the private message follows it: the doctor's stream, not Alex's
  const r = await doc.call('/saveActions', [{ client_ts: new Date().toISOString(), type: 'reaction', target: saved.json.ids[1], user: '123XYZ', icon: 'smile' }]);
  assert.equal(r.status, 200);
  await d.waitFrames(3);
  await sleep(100);
  assert.equal(d.frames[2].json.actions[0].type, 'reaction');
  assert.equal(a.frames.length, 2);

  // the stream takes no messages: they count as invalid, the stream stays
  a.ws.send('hello');
  await sleep(100);
  assert.equal(a.ws.readyState, WebSocket.OPEN);

  // logout closes the session's streams
  assert.equal((await alex.call('/logout')).status, 200);
  for (let i = 0; i < T(200) && !a.closed; i++) await sleep(10);
  assert.equal(a.closed?.code, 1008);
  assert.equal(a.closed?.reason, 'logged out');
  assert.equal(d.ws.readyState, WebSocket.OPEN, 'the others stay');
  d.ws.close();
  await s.stop();
});

test('the upgrade is refused as HTTP with the error body: another site, no session, no current session, a bad cursor', async () => {
  const s = await startServer({ tag: 'tstream-refused' });
  const sam = await login(s, '+15555550101', 'Lee');
  const cases = [
    [stream(s, sam, '', { Origin: 'https://evil.example' }), 403, { result: 'Request refused: Origin is not this site', error: 'CSRF_FAILED' }],
    [stream(s, client(s)), 401, { result: 'Authentication required', error: 'AUTH_REQUIRED' }],
    [stream(s, { cookie: 'sb_therapy=' + 'a'.repeat(64) }), 401, { result: 'Authentication required', error: 'AUTH_REQUIRED' }],
    // the schema's own parser (params TherapyStreamQuery) speaks, as for getActions' body
    [stream(s, sam, '?last_action_id=-1'), 400, { result: 'Invalid request: last_action_id: out of range', error: 'INVALID_REQUEST' }],
    [stream(s, sam, '?last_action_id=x'), 400, { result: 'Invalid request: last_action_id: expected integer', error: 'INVALID_REQUEST' }],
  ];
  const doc = await login(s, '+15555550100', 'Rivera', { enter: false });
  cases.push([stream(s, doc), 409, { result: 'No therapy session entered', error: 'NO_CURRENT_SESSION' }]);
  for (const [st, status, body] of cases) {
    const r = await st.waitRefused();
    assert.ok(r, 'refused');
    assert.equal(r.status, status);
    assert.deepEqual(JSON.parse(r.body), body);
  }
  // our own page's Origin is fine
  const ok = stream(s, sam, '', { Origin: `http://127.0.0.1:${s.port}` });
  await ok.opened;
  ok.ws.close();
  await s.stop();
});

test('latency: a message reaches a stream and a held long poll at once (printed), not at the 5 s poll', async () => {
  const s = await startServer({ tag: 'tstream-latency' });
  const sam = await login(s, '+15555550101', 'Lee');
  const alex = await login(s, '+15555550102', 'Kim');
  const st = stream(s, alex, '?last_action_id=0');
  await st.opened;
  const streamMs = [], longMs = [];
  let cursor = 0;
  for (let i = 0; i < 20; i++) {
    const held = alex.call('/getActions', { last_action_id: cursor, wait: 10 }).then((r) => ({ r, at: performance.now() }));
    await sleep(30);
    const n = st.frames.length;
    const t0 = performance.now();
    const saved = await sam.call('/saveActions', [message('P123', `m${i}`)]);
    assert.equal(saved.status, 200);
    const { r, at } = await held;
    assert.deepEqual(r.json.actions.map((x) => x.body), [`m${i}`]);
    cursor = r.json.max_id;
    await st.waitFrames(n + 1);
    streamMs.push(st.frames[n].at - t0);
    longMs.push(at - t0);
  }
  const p = (xs, q) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1))].toFixed(1);
  console.log(`# latency saveActions -> delivery, ms: stream p50 ${p(streamMs, 0.5)} p95 ${p(streamMs, 0.95)}; long poll p50 ${p(longMs, 0.5)} p95 ${p(longMs, 0.95)}`);
  assert.ok(Number(p(streamMs, 0.5)) < T(1000));
  assert.ok(Number(p(longMs, 0.5)) < T(1000));
  st.ws.close();
  await s.stop();
});

test('a refused batch reaches no stream: an item refused after others were stored rolls them back unseen', async () => {
  const s = await startServer({ tag: 'tstream-rollback' });
  const sam = await login(s, '+15555550101', 'Lee');
  const alex = await login(s, '+15555550102', 'Kim');
  const own = await sam.call('/saveActions', [message('P123', 'soon deleted')]);
  assert.equal(own.status, 200);
  const st = stream(s, alex, `?last_action_id=${own.json.max_id}`);
  await st.opened;
  // a new message (stored first), the delete of Sam's message, then a reaction to the
  // message just deleted in the same batch: refused, so the whole batch is not stored
  const r = await sam.call('/saveActions', [
    message('P123', 'never happened'),
    { client_ts: new Date().toISOString(), type: 'delete', target: own.json.ids[0] },
    { client_ts: new Date().toISOString(), type: 'reaction', target: own.json.ids[0], user: 'P123', icon: 'heart' },
  ]);
  assert.equal(r.status, 403, JSON.stringify(r.json));
  assert.equal(r.json.error, 'ACTION_REFUSED');
  await sleep(300);
  assert.deepEqual(st.frames.map((f) => f.json), [], 'nothing of the refused batch on the stream');
  const after = await alex.call('/getActions', { last_action_id: own.json.max_id });
  assert.deepEqual(after.json.actions, []);
  st.ws.close();
  await s.stop();
});
