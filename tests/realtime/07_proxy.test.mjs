// Proxied actions (processData) against a stand-in upstream started here: the
// request the upstream sees (URL, caller's token, X-Request-Id, body), its
// answers mapped to RESPONSE or ERROR, timeouts, a dead upstream, the in-flight
// limits, and the checks made before anything is forwarded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRt, connect, cleanup, metrics, mint, startUpstream, closedPort, T, sleep, until,
} from './realtime_harness.mjs';

let up; // the upstream: behaviour chosen per request by its data.input
let held = []; // responses held open by "hold"
const TIMEOUT_MS = 600;

function answer(call, res) {
  const input = call.json?.data?.input ?? '';
  const [mode, arg] = input.split(/[: ]/);
  switch (mode) {
    case 'echo':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ output: input, utf8: 'é ü € 😀', seen: call.json }));
      break;
    case 'status':
      res.writeHead(Number(arg), { 'Content-Type': 'application/json' });
      res.end('{"error":"upstream says no"}');
      break;
    case 'garbage':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('<html>not json</html>');
      break;
    case 'empty':
      res.writeHead(204);
      res.end();
      break;
    case 'slow':
      setTimeout(() => { if (!res.writableEnded) { res.writeHead(200); res.end('{"late":true}'); } }, TIMEOUT_MS * 3);
      break;
    case 'hold':
      held.push(res);
      break;
    default:
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('"plain"');
  }
}

/** answer every held request 200 {"released":true} */
function release() {
  for (const res of held) if (!res.writableEnded) { res.writeHead(200); res.end('{"released":true}'); }
  held = [];
}

let s;
before(async () => {
  up = await startUpstream(answer);
  s = await startRt({ args: [
    '--realtime-upstream', `${up.url}/v1/actions/{action}?via=switchboard`,
    '--realtime-upstream-timeout', String(TIMEOUT_MS),
    '--realtime-upstream-inflight', '16',
    '--max-user-connections', '0',
  ] });
});
after(async () => {
  release();
  await cleanup();
  await up.close();
});

const allowed = (over = {}) => mint({ permissions: ['processData'], ...over });

test('success: the RESPONSE carries the upstream\'s JSON; the upstream sees the URL, the caller\'s token, X-Request-Id and the body', async () => {
  const token = allowed({ sub: 'proxy-user' });
  const c = await connect(s, { token, transports: ['websocket'] });
  up.calls.length = 0;
  const r = await c.ask('processData', { input: 'echo' }, 'p-ok-1');
  assert.deepEqual(Object.keys(r), ['type', 'requestId', 'action', 'data']);
  assert.equal(r.type, 'RESPONSE');
  assert.equal(r.requestId, 'p-ok-1');
  assert.equal(r.action, 'processData');
  assert.deepEqual(r.data, { output: 'echo', utf8: 'é ü € 😀', seen: { action: 'processData', requestId: 'p-ok-1', data: { input: 'echo' } } });
  assert.equal(up.calls.length, 1);
  const call = up.calls[0];
  assert.equal(call.method, 'POST');
  assert.equal(call.url, '/v1/actions/processData?via=switchboard', '{action} replaced by the action\'s name');
  assert.equal(call.headers.authorization, `Bearer ${token}`, 'the caller\'s own token');
  assert.equal(call.headers['x-request-id'], 'p-ok-1');
  assert.match(call.headers['content-type'], /^application\/json/);
  assert.deepEqual(JSON.parse(call.body), { action: 'processData', requestId: 'p-ok-1', data: { input: 'echo' } });

  // UTF-8 data goes up intact; a JSON string answer is the data as is; 204 is a RESPONSE without data
  const u = await c.ask('processData', { input: 'echo é ü € 😀' });
  assert.equal(u.data.seen.data.input, 'echo é ü € 😀');
  assert.equal(JSON.parse(up.calls[1].body).data.input, 'echo é ü € 😀');
  assert.equal((await c.ask('processData', { input: 'x' })).data, 'plain');
  assert.deepEqual(await c.ask('processData', { input: 'empty' }, 'p-empty'), { type: 'RESPONSE', requestId: 'p-empty', action: 'processData' });
  // with an ack: the same text
  const acked = await c.socket.timeout(T(3000)).emitWithAck('message', JSON.stringify({ type: 'REQUEST', requestId: 'p-ack', action: 'processData', data: { input: 'echo' } }));
  assert.equal(JSON.parse(acked).data.seen.requestId, 'p-ack');
  c.close();
});

test('upstream failures: status codes mapped, slow past the timeout, garbage, and a dead upstream are ERRORs with the requestId', async () => {
  const c = await connect(s, { token: allowed(), transports: ['websocket'] });
  for (const [input, code, fragment] of [
    ['status:500', 'INTERNAL', 'the upstream answered 500'],
    ['status:503', 'INTERNAL', 'the upstream answered 503'],
    ['status:403', 'ACTION_NOT_ALLOWED', 'the upstream answered 403'],
    ['status:401', 'ACTION_NOT_ALLOWED', 'the upstream answered 401'],
    ['status:400', 'INVALID_DATA', 'the upstream answered 400'],
    ['status:422', 'INVALID_DATA', 'the upstream answered 422'],
    ['status:404', 'UNKNOWN_ACTION', 'the upstream answered 404'],
    ['status:429', 'RATE_LIMITED', 'the upstream answered 429'],
    ['garbage', 'INTERNAL', 'the upstream answered 200 with a body that is not JSON'],
  ]) {
    const rid = `p-${input}`;
    const e = await c.ask('processData', { input }, rid);
    assert.deepEqual(Object.keys(e), ['type', 'requestId', 'action', 'error'], input);
    assert.equal(e.type, 'ERROR', input);
    assert.equal(e.requestId, rid);
    assert.equal(e.error.code, code, input);
    assert.ok(e.error.message.includes(fragment), `${input}: ${e.error.message}`);
  }
  const t0 = Date.now();
  const slow = await c.ask('processData', { input: 'slow' }, 'p-slow');
  const took = Date.now() - t0;
  assert.equal(slow.type, 'ERROR');
  assert.equal(slow.error.code, 'INTERNAL');
  assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + T(1500), `answered after the timeout (${took} ms)`);
  // the late answer is not relayed
  await sleep(TIMEOUT_MS * 2.5);
  assert.equal(c.envs((e) => e.requestId === 'p-slow').length, 1, 'one answer only');
  c.close();
});

test('upstream down (a closed port): ERROR INTERNAL', async () => {
  const port = await closedPort();
  const t = await startRt({ args: ['--realtime-upstream', `http://127.0.0.1:${port}/x`, '--realtime-upstream-timeout', '2000'] });
  const c = await connect(t, { token: allowed() });
  const t0 = Date.now();
  const e = await c.ask('processData', { input: 'x' }, 'p-down');
  assert.equal(e.type, 'ERROR');
  assert.equal(e.error.code, 'INTERNAL');
  assert.match(e.error.message, /^Internal error: the upstream gave no answer/);
  assert.ok(Date.now() - t0 < 1500, 'a refused connection fails at once, not at the timeout');
  const m = await metrics(t);
  assert.equal(m.switchboard_realtime_proxied_total, 1);
  assert.equal(m.switchboard_realtime_proxy_failures_total, 1);
  // and no upstream configured at all
  const u = await startRt();
  const d = await connect(u, { token: allowed() });
  const n = await d.ask('processData', { input: 'x' });
  assert.equal(n.error.code, 'INTERNAL');
  assert.equal(n.error.message, 'Internal error: no upstream is configured for this action');
});

test('checked before forwarding: no processData permission → ACTION_NOT_ALLOWED, invalid data → INVALID_DATA; the upstream is not contacted', async () => {
  const before = up.calls.length;
  const no = await connect(s, { token: mint({ permissions: ['somethingElse'] }), label: 'noperm' });
  const e = await no.ask('processData', { input: 'echo' }, 'p-denied');
  assert.deepEqual(e, { type: 'ERROR', requestId: 'p-denied', action: 'processData', error: { code: 'ACTION_NOT_ALLOWED', message: 'Action not allowed: the token does not grant it' } });
  const none = await connect(s, { token: mint(), label: 'noclaim' });
  assert.equal((await none.ask('processData', { input: 'echo' })).error.code, 'ACTION_NOT_ALLOWED');
  // "*" grants every permission
  const star = await connect(s, { token: mint({ permissions: ['*'] }), label: 'star' });
  assert.equal((await star.ask('processData', { input: 'x' })).type, 'RESPONSE');
  assert.equal(up.calls.length, before + 1);

  const c = await connect(s, { token: allowed(), label: 'invalid' });
  for (const [data, message] of [
    [{ input: 5 }, 'Invalid data for action: data.input: expected string, got number'],
    [{}, 'Invalid data for action: data.input: missing required field'],
    [undefined, 'Invalid data for action: data: missing required field'],
    [{ input: 'x', extra: true }, 'Invalid data for action: data.extra: unknown field'],
    [{ input: 'x'.repeat(4097) }, 'Invalid data for action: data.input: longer than 4096 bytes'],
  ]) {
    const r = await c.ask('processData', data);
    assert.equal(r.type, 'ERROR');
    assert.equal(r.error.code, 'INVALID_DATA');
    assert.equal(r.error.message, message);
  }
  assert.equal(up.calls.length, before + 1, 'the upstream saw only the "*" request');
});

test('in flight: a connection gets an eighth of --realtime-upstream-inflight; past it RATE_LIMITED "too many requests in flight"; slots come back', async () => {
  // 16 server-wide: 2 per connection
  const c = await connect(s, { token: allowed(), label: 'greedy' });
  const other = await connect(s, { token: allowed(), label: 'other' });
  const ids = [0, 1, 2, 3].map((i) => c.send('processData', { input: 'hold' }, `hold-${i}`));
  const limited = await Promise.all(ids.slice(2).map((id) => c.answer(id)));
  for (const e of limited) {
    assert.equal(e.type, 'ERROR');
    assert.equal(e.error.code, 'RATE_LIMITED');
    assert.equal(e.error.message, 'Too many messages: too many requests in flight');
  }
  await until(() => held.length === 2, T(3000), 'two calls held upstream');
  // another connection has its own share
  assert.equal((await other.ask('processData', { input: 'echo' })).type, 'RESPONSE');
  release();
  const done = await Promise.all(ids.slice(0, 2).map((id) => c.answer(id)));
  for (const r of done) assert.deepEqual(r.data, { released: true });
  assert.equal((await c.ask('processData', { input: 'echo' })).type, 'RESPONSE', 'the slots are free again');
  c.close();
  other.close();
});

test('in flight server-wide: --realtime-upstream-inflight 8, eight connections hold one each, the ninth is RATE_LIMITED; a caller gone mid-call frees its slot', async () => {
  const t = await startRt({ args: ['--realtime-upstream', `${up.url}/a`, '--realtime-upstream-inflight', '8', '--realtime-upstream-timeout', '5000', '--max-user-connections', '0'] });
  const cs = await Promise.all(Array.from({ length: 9 }, (_, i) => connect(t, { token: allowed(), label: `w${i}` })));
  held = [];
  const ids = cs.slice(0, 8).map((c) => c.send('processData', { input: 'hold' }));
  await until(() => held.length === 8, T(3000), 'eight calls held upstream');
  const e = await cs[8].ask('processData', { input: 'echo' });
  assert.equal(e.error?.code, 'RATE_LIMITED', JSON.stringify(e));
  // one caller leaves while its call is upstream; the answer has nowhere to go, the slot is freed
  cs[0].close();
  await sleep(100);
  release();
  for (let i = 1; i < 8; i++) assert.deepEqual((await cs[i].answer(ids[i])).data, { released: true });
  const r = await cs[8].ask('processData', { input: 'echo' });
  assert.equal(r.type, 'RESPONSE', JSON.stringify(r));
  assert.equal((await metrics(t)).switchboard_realtime_sockets, 8);
});
