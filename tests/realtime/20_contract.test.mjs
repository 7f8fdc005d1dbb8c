// The seed's contract with the real socket.io-client 4.8: every transport, the
// envelopes field by field, acks, UTF-8, actions, the operator API, reconnects.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { h, startRealtime, socket, connect, connected, request, answer, ask, update, updatesOf,
  token, closeAll, rid } from './rt.mjs';

let s;
// 200 clients at once from one address: past the default pending share (an eighth of 1024)
before(async () => { s = await startRealtime(['--max-request-rate', '0', '--max-ip-connections', '0']); });
after(async () => { closeAll(); await h.cleanup(); });

for (const [what, transports, end] of [
  ['polling only', ['polling'], 'polling'],
  ['websocket only', ['websocket'], 'websocket'],
  ['polling, then the upgrade', ['polling', 'websocket'], 'websocket'],
]) {
  test(`${what}: a ping REQUEST gets its RESPONSE, field by field`, async () => {
    const c = await connect(s, { transports });
    const id = `req-${what.length}`;
    const r = await answer(c, request(c, 'ping', undefined, id));
    assert.deepEqual(Object.keys(r), ['type', 'requestId', 'action', 'data']);
    assert.equal(r.type, 'RESPONSE');
    assert.equal(r.requestId, id);
    assert.equal(r.action, 'ping');
    assert.ok(Math.abs(r.data.time - Date.now()) < 60000, 'the server clock in ms');
    // the server sent a JSON string, as the seed's client parses it
    assert.equal(typeof c.messages[0].raw, 'string');
    await h.until(() => c.io.engine.transport.name === end, h.T(5000), `transport ${end}`);
    c.close();
  });
}

test('an ack carries the same envelope string', async () => {
  const c = await connect(s);
  const acked = await h.withTimeout(new Promise((resolve) => {
    c.emit('message', JSON.stringify({ type: 'REQUEST', requestId: 'a1', action: 'whoami' }), resolve);
  }), h.T(5000), 'ack');
  const env = JSON.parse(acked);
  assert.equal(env.type, 'RESPONSE');
  assert.deepEqual(env.data, { userId: 'u1', companyId: 'c1', sessionId: 's1', subscriptions: [], permissions: [] });
  await answer(c, 'a1');
  c.close();
});

test('an object envelope is accepted too; the seed client reader works unchanged', async () => {
  const c = await connect(s);
  const seen = [];
  // the seed's own reader
  c.on('message', (message) => {
    const parsed = typeof message === 'string' ? JSON.parse(message) : message;
    seen.push(parsed.type);
  });
  c.emit('message', { type: 'REQUEST', requestId: 'o1', action: 'ping' });
  assert.equal((await answer(c, 'o1')).type, 'RESPONSE');
  assert.deepEqual(seen, ['RESPONSE']);
  c.close();
});

test('whoami, subscribeArtifact and unsubscribeArtifact', async () => {
  const c = await connect(s, { tok: token({ artifacts: ['a1', 'a2'], permissions: ['processData'] }), artifactId: 'a1' });
  assert.deepEqual((await ask(c, 'whoami')).data,
    { userId: 'u1', companyId: 'c1', sessionId: 's1', artifactId: 'a1', subscriptions: ['a1'], permissions: ['processData'] });
  assert.deepEqual((await ask(c, 'subscribeArtifact', { artifactId: 'a2' })).data, { artifactId: 'a2' });
  assert.deepEqual((await ask(c, 'whoami')).data.subscriptions.sort(), ['a1', 'a2']);
  const denied = await ask(c, 'subscribeArtifact', { artifactId: 'a3' });
  assert.equal(denied.type, 'ERROR');
  assert.equal(denied.error.code, 'ACTION_NOT_ALLOWED');
  assert.deepEqual((await ask(c, 'unsubscribeArtifact', { artifactId: 'a1' })).data, { artifactId: 'a1' });
  assert.deepEqual((await ask(c, 'whoami')).data.subscriptions, ['a2']);
  c.close();
});

test('errors: unknown action, bad data, not JSON, not a REQUEST, a numeric requestId, another event', async () => {
  const c = await connect(s);
  const e1 = await ask(c, 'nope');
  assert.deepEqual(e1, { type: 'ERROR', requestId: e1.requestId, action: 'nope', error: { code: 'UNKNOWN_ACTION', message: 'Unknown action' } });
  const e2 = await ask(c, 'subscribeArtifact', { artifactId: 7 });
  assert.equal(e2.error.code, 'INVALID_DATA');
  assert.equal(e2.error.message, 'Invalid data for action: data.artifactId: expected string, got number');
  const e3 = await ask(c, 'ping', { extra: 1 });
  assert.equal(e3.error.code, 'INVALID_DATA');
  c.emit('message', '{not json');
  c.emit('message', JSON.stringify({ type: 'RESPONSE', requestId: 'x1', action: 'ping' }));
  c.emit('message', JSON.stringify({ type: 'REQUEST', requestId: 5, action: 'ping' }));
  c.emit('other', 'x');
  await h.until(() => c.messages.filter((m) => m.env.error?.code === 'INVALID_MESSAGE').length === 4, h.T(5000), '4 INVALID_MESSAGE');
  const bad = c.messages.filter((m) => m.env.error?.code === 'INVALID_MESSAGE').map((m) => m.env);
  assert.equal(bad[0].requestId, '');
  assert.match(bad[0].error.message, /^Invalid message format: /);
  assert.equal(bad[1].requestId, 'x1', 'the requestId is salvaged when it is a string');
  assert.match(bad[2].error.message, /requestId: expected string, got number/);
  assert.match(bad[3].error.message, /event "other": only "message" is served/);
  c.close();
});

test('UTF-8 intact both ways (é, ü, €, emoji)', async () => {
  const text = 'héllo wörld €5 🎉 — ü';
  const c = await connect(s, { tok: token({ company_id: 'c-utf', artifacts: '*' }) });
  const r = await update(s, { company_id: 'c-utf', action: 'statusChange', data: { text }, requestId: 'u-é€' });
  assert.equal(r.status, 200);
  await h.until(() => updatesOf(c).length === 1, h.T(5000), 'the update');
  assert.deepEqual(updatesOf(c)[0].env, { type: 'UPDATE', requestId: 'u-é€', action: 'statusChange', data: { text } });
  // and in: an artifact ID with non-ASCII letters, echoed back
  assert.deepEqual((await ask(c, 'subscribeArtifact', { artifactId: 'ärtifact-🎉' })).data, { artifactId: 'ärtifact-🎉' });
  c.close();
});

test('the operator API: an UPDATE to the company, answered with its offset and the connections reached', async () => {
  const a = await connect(s, { tok: token({ company_id: 'c-op' }) });
  const b = await connect(s, { tok: token({ sub: 'u2', company_id: 'c-op' }) });
  const r = await update(s, { company_id: 'c-op', action: 'companyUpdate', data: { name: 'Acme' }, requestId: 'op-1' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.json.requestId, 'op-1');
  assert.equal(r.json.delivered, 2);
  assert.match(r.json.offset, /^\d+$/);
  for (const c of [a, b]) {
    await h.until(() => updatesOf(c).length === 1, h.T(5000), 'the update');
    const u = updatesOf(c)[0];
    assert.deepEqual(u.env, { type: 'UPDATE', requestId: 'op-1', action: 'companyUpdate', data: { name: 'Acme' } });
    assert.equal(u.offset, r.json.offset, 'the offset is the event\'s second argument');
  }
  // without a requestId the server makes one
  const r2 = await update(s, { company_id: 'c-op', action: 'x' });
  assert.match(r2.json.requestId, /^\d+-\d+$/);
  a.close();
  b.close();
});

test('the operator API refuses, byte for byte', async () => {
  const r1 = await update(s, { company_id: 'c1', action: 'x' }, 'sbk_' + '0'.repeat(64));
  assert.equal(r1.status, 401);
  assert.equal(r1.text, '{"code":"UNAUTHORIZED","message":"API key required"}');
  const r2 = await update(s, { action: 'x' });
  assert.equal(r2.status, 400);
  assert.equal(r2.text, '{"code":"INVALID_REQUEST","message":"company_id: missing required field"}');
  const r3 = await update(s, { company_id: '', action: 'x' });
  assert.equal(r3.status, 400);
  assert.match(r3.json.message, /^company_id: /);
  const r4 = await h.request(s, '/api/v1/realtime/updates', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(r4.status, 401);
});

test('reconnects by itself after the server drops the transport', async () => {
  const c = socket(s, { transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await connected(c);
  const first = c.id;
  const reconnected = new Promise((resolve) => c.io.once('reconnect', resolve));
  c.io.engine.transport.ws._socket.destroy(); // the TCP connection dies under the client
  await h.withTimeout(reconnected, h.T(10000), 'reconnect');
  await connected(c);
  assert.notEqual(c.id, undefined);
  assert.equal((await ask(c, 'ping')).type, 'RESPONSE');
  assert.ok(first);
  c.close();
});

test('/metrics counts the realtime protocol', async () => {
  const m = await h.metrics(s);
  for (const k of ['switchboard_realtime_connections_total', 'switchboard_realtime_requests_total',
    'switchboard_realtime_updates_total', 'switchboard_realtime_deliveries_total', 'switchboard_realtime_sockets']) {
    assert.ok(k in m, `${k} in /metrics`);
  }
  assert.ok(m.switchboard_realtime_requests_total >= 10);
  assert.ok(m.switchboard_realtime_updates_total >= 3);
});

test('200 clients x 50 pipelined REQUESTs: every answer matched exactly once', async () => {
  const clients = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    connect(s, { transports: ['websocket'], tok: token({ sub: `load-${i}` }) })));
  const want = new Map();
  for (const [i, c] of clients.entries()) {
    const ids = [];
    for (let k = 0; k < 50; k++) ids.push(request(c, 'ping', undefined, `c${i}-q${k}`));
    want.set(c, ids);
  }
  await h.until(() => clients.every((c) => c.messages.length >= 50), h.T(60000), '10,000 answers', 100);
  await h.sleep(200); // nothing more may come
  for (const [c, ids] of want) {
    const got = c.messages.map((m) => m.env.requestId);
    assert.equal(got.length, 50, 'no extra answer');
    assert.deepEqual([...got].sort(), [...ids].sort(), 'each request answered once');
    assert.ok(c.messages.every((m) => m.env.type === 'RESPONSE'));
  }
  for (const c of clients) c.close();
});

test('an unknown namespace is refused', async () => {
  const { io } = await import('./rt.mjs');
  const c = io(`${s.base}/nope`, { path: '/realtime', auth: { token: token() }, query: { sessionId: 's1' }, reconnection: false, forceNew: true });
  const msg = await h.withTimeout(new Promise((r) => c.once('connect_error', (e) => r(e.message))), h.T(5000), 'connect_error');
  assert.equal(msg, 'Invalid namespace');
  c.close();
  assert.ok(rid());
});
