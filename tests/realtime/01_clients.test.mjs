// The real socket.io-client 4.8.4 against /realtime: polling only, WebSocket
// only, and the default (polling, then the upgrade); a ping REQUEST answered
// by a RESPONSE with the same requestId, the envelopes field by field against
// the seed's shape, acks, UTF-8 both ways, and the seed's own client code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRt, connect, cleanup, RtClient, postUpdate, mint, T, sleep, withTimeout,
} from './realtime_harness.mjs';

let s;
before(async () => { s = await startRt(); });
after(cleanup);

const UTF8 = 'é ü € 😀';

/** The seed's RESPONSE: {type, requestId, action?, data?, error?}; ours carries type, requestId, action, data. */
function assertResponse(env, requestId, action) {
  assert.deepEqual(Object.keys(env), ['type', 'requestId', 'action', 'data'], `RESPONSE fields: ${JSON.stringify(env)}`);
  assert.equal(env.type, 'RESPONSE');
  assert.equal(typeof env.requestId, 'string');
  assert.equal(env.requestId, requestId);
  assert.equal(env.action, action);
}

function assertPing(env, requestId, t0) {
  assertResponse(env, requestId, 'ping');
  assert.deepEqual(Object.keys(env.data), ['time']);
  assert.ok(Number.isInteger(env.data.time), `time is an integer: ${env.data.time}`);
  assert.ok(Math.abs(env.data.time - t0) < 5000, `time ${env.data.time} is the server's clock in ms (now ${t0})`);
}

function assertError(env, requestId, action, code) {
  const keys = action === undefined ? ['type', 'requestId', 'error'] : ['type', 'requestId', 'action', 'error'];
  assert.deepEqual(Object.keys(env), keys, `ERROR fields: ${JSON.stringify(env)}`);
  assert.equal(env.type, 'ERROR');
  assert.equal(env.requestId, requestId);
  if (action !== undefined) assert.equal(env.action, action);
  assert.deepEqual(Object.keys(env.error), ['code', 'message']);
  assert.equal(env.error.code, code);
  assert.equal(typeof env.error.message, 'string');
  assert.ok(env.error.message.length > 0);
}

/** ping with a requestId that looks like a number (the seed's Date.now().toString()): it stays a string */
async function pingRoundTrip(c) {
  const requestId = `${Date.now()}`;
  const t0 = Date.now();
  const env = await c.ask('ping', undefined, requestId);
  assertPing(env, requestId, t0);
  const raw = c.msgs.find((m) => m.env.requestId === requestId).raw;
  assert.equal(typeof raw, 'string', 'the envelope comes as a JSON text, as the seed\'s client parses it');
  assert.match(raw, new RegExp(`"requestId":"${requestId}"`), 'requestId is a JSON string on the wire');
  // "007" is not 7
  const env2 = await c.ask('ping', undefined, '007');
  assert.equal(env2.requestId, '007');
}

/** a REQUEST with an ack callback: the ack gets the same JSON text as the "message" event */
async function ackRoundTrip(c) {
  const requestId = `ack-${Date.now()}`;
  const acked = await withTimeout(new Promise((resolve) => {
    c.socket.emit('message', JSON.stringify({ type: 'REQUEST', requestId, action: 'whoami' }), (...args) => resolve(args));
  }), T(3000), 'ack');
  assert.equal(acked.length, 1);
  assert.equal(typeof acked[0], 'string');
  const env = JSON.parse(acked[0]);
  assertResponse(env, requestId, 'whoami');
  const [m] = await c.waitMsgs((x) => x.env.requestId === requestId, 1, { what: 'the message event of the acked request' });
  assert.equal(m.raw, acked[0], 'ack and message event carry the same text');
  // and an ERROR is acked too
  const bad = await c.socket.timeout(T(3000)).emitWithAck('message', JSON.stringify({ type: 'REQUEST', requestId: 'ack-bad', action: 'noSuchAction' }));
  assertError(JSON.parse(bad), 'ack-bad', 'noSuchAction', 'UNKNOWN_ACTION');
}

/** UTF-8 in the claims, the query, the requestId, a REQUEST's data and an UPDATE's data */
async function utf8RoundTrip(transports, tag) {
  const company = `cömpany-${UTF8}-${tag}`;
  const sid = `séssion-${UTF8}`;
  const art = `ärtifact-${UTF8}`;
  const c = await connect(s, {
    transports,
    label: `utf8-${tag}`,
    token: mint({ sub: `üser-${UTF8}`, company_id: company, sid, artifacts: [art, `other-${UTF8}`] }),
    sessionId: sid,
    artifactId: art,
  });
  const who = await c.ask('whoami', undefined, `rid-${UTF8}`);
  assertResponse(who, `rid-${UTF8}`, 'whoami');
  assert.deepEqual(who.data, {
    userId: `üser-${UTF8}`, companyId: company, sessionId: sid, artifactId: art, subscriptions: [art], permissions: [],
  });
  const sub = await c.ask('subscribeArtifact', { artifactId: `other-${UTF8}` });
  assert.deepEqual(sub.data, { artifactId: `other-${UTF8}` });
  const data = { text: UTF8, list: [UTF8, '中文', '\u00e9'], nested: { [UTF8]: UTF8 } };
  const p = await postUpdate(s, { company_id: company, artifact_id: `other-${UTF8}`, action: `äction-${UTF8}`, data, requestId: `upd-${UTF8}` });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, { requestId: `upd-${UTF8}`, offset: p.json.offset, delivered: 1 });
  const [u] = await c.waitMsgs((m) => m.env.type === 'UPDATE', 1, { what: 'the UTF-8 UPDATE' });
  assert.deepEqual(u.env, { type: 'UPDATE', requestId: `upd-${UTF8}`, action: `äction-${UTF8}`, data });
  assert.equal(u.offset, p.json.offset);
  c.close();
}

for (const [name, transports] of [['polling only', ['polling']], ['WebSocket only', ['websocket']]]) {
  test(`${name}: ping RESPONSE with the same requestId, envelope field by field, acks, UTF-8`, async () => {
    const c = await connect(s, { transports, label: name });
    assert.equal(c.socket.io.engine.transport.name, transports[0]);
    await pingRoundTrip(c);
    await ackRoundTrip(c);
    // still on the same transport: polling only never upgrades
    assert.equal(c.socket.io.engine.transport.name, transports[0]);
    assert.deepEqual(c.transports, transports);
    c.close();
    await utf8RoundTrip(transports, transports[0]);
  });
}

test('default transports: connects over polling, upgrades to WebSocket, requests across the upgrade are all answered once', async () => {
  const c = new RtClient(s, { label: 'upgrade' });
  // emitted before the connection is up (socket.io-client buffers them), then
  // sent while the upgrade may be under way
  const ids = [];
  for (let i = 0; i < 20; i++) ids.push(c.send('ping', undefined, `up-${i}`));
  await c.connected();
  await c.until((x) => x.transports.length >= 2, T(3000), 'the upgrade');
  assert.deepEqual(c.transports, ['polling', 'websocket'], 'opened over polling, upgraded to websocket');
  assert.equal(c.socket.io.engine.transport.name, 'websocket');
  for (let i = 20; i < 30; i++) ids.push(c.send('ping', undefined, `up-${i}`));
  await c.waitMsgs(() => true, ids.length, { what: 'answers' });
  await sleep(100);
  assert.deepEqual(c.msgs.map((m) => m.env.requestId), ids, 'each answered once, in order');
  for (const m of c.msgs) assert.equal(m.env.type, 'RESPONSE');
  await pingRoundTrip(c);
  await ackRoundTrip(c);
  c.close();
  await utf8RoundTrip(undefined, 'upgrade');
});

test('the seed\'s client code as written: JSON.stringify REQUESTs, typeof message === "string" ? JSON.parse : message', async () => {
  // connectWebSocket / sendAction from the seed, against our server
  const { io } = await import('./realtime_harness.mjs');
  const seen = { RESPONSE: [], UPDATE: [], ERROR: [] };
  const connectWebSocket = (token, sessionId, artifactId) => {
    const socket = io(s.base, {
      path: '/realtime',
      auth: { token },
      query: { sessionId, ...(artifactId && { artifactId }) },
      forceNew: true,
      reconnection: false,
    });
    socket.on('message', (message) => {
      const parsed = typeof message === 'string' ? JSON.parse(message) : message;
      switch (parsed.type) {
        case 'RESPONSE': seen.RESPONSE.push(parsed); break;
        case 'UPDATE': seen.UPDATE.push(parsed); break;
        case 'ERROR': seen.ERROR.push(parsed); break;
        default: throw new Error(`unexpected type ${parsed.type}`);
      }
    });
    return socket;
  };
  const sendAction = (socket, action, data) => {
    const message = { type: 'REQUEST', requestId: Date.now().toString(), action, data };
    socket.emit('message', JSON.stringify(message));
    return message.requestId;
  };
  const socket = connectWebSocket(mint({ artifacts: ['optional-artifact-id'], company_id: 'c-seed', sid: 'your-session-id' }), 'your-session-id', 'optional-artifact-id');
  try {
    await withTimeout(new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); }), T(5000), 'seed client connect');
    const r1 = sendAction(socket, 'someAction', { key: 'value' });
    await sleep(2); // Date.now() ids must differ
    const r2 = sendAction(socket, 'ping', undefined);
    const deadline = Date.now() + T(3000);
    while ((seen.ERROR.length < 1 || seen.RESPONSE.length < 1) && Date.now() < deadline) await sleep(20);
    assert.deepEqual(seen.ERROR, [{ type: 'ERROR', requestId: r1, action: 'someAction', error: { code: 'UNKNOWN_ACTION', message: 'Unknown action' } }]);
    assert.equal(seen.RESPONSE.length, 1);
    assert.equal(seen.RESPONSE[0].requestId, r2);
    // the seed's server side: sendArtifactUpdate(companyId, {type:'UPDATE', requestId, action, data}, artifactId)
    const p = await postUpdate(s, { company_id: 'c-seed', artifact_id: 'optional-artifact-id', action: 'artifactUpdate', data: { artifactId: 'a-7', status: 'processing' }, requestId: 'update-1' });
    assert.equal(p.status, 200, p.text);
    while (seen.UPDATE.length < 1 && Date.now() < deadline + T(2000)) await sleep(20);
    assert.deepEqual(seen.UPDATE, [{ type: 'UPDATE', requestId: 'update-1', action: 'artifactUpdate', data: { artifactId: 'a-7', status: 'processing' } }]);
  } finally {
    socket.disconnect();
  }
});

test('an envelope object (not a JSON text) is served too; what is not a REQUEST is an INVALID_MESSAGE ERROR', async () => {
  const c = await connect(s, { transports: ['websocket'], label: 'invalid' });
  c.socket.emit('message', { type: 'REQUEST', requestId: 'obj-1', action: 'ping' });
  const [obj] = await c.waitMsgs((m) => m.env.requestId === 'obj-1', 1);
  assertPing(obj.env, 'obj-1', Date.now());

  const cases = [
    // [what is emitted, the requestId the ERROR carries, a fragment of its message]
    [['message', 'not json'], '', 'invalid JSON'],
    [['message', JSON.stringify({ type: 'RESPONSE', requestId: 'salvaged-1', action: 'ping' })], 'salvaged-1', 'type'],
    [['message', JSON.stringify({ type: 'REQUEST', requestId: 5, action: 'ping' })], '', 'requestId'],
    [['message', JSON.stringify({ type: 'REQUEST', requestId: 'no-action' })], 'no-action', 'action'],
    [['message', JSON.stringify({ type: 'REQUEST', requestId: 'extra', action: 'ping', bogus: 1 })], 'extra', 'bogus'],
    [['message', 42], '', 'expected object'],
    [['message'], '', 'no envelope'],
    [['other', 'x'], '', 'only "message" is served'],
  ];
  for (const [args, rid, fragment] of cases) {
    const from = c.msgs.length;
    c.socket.emit(...args);
    const [m] = await c.waitMsgs(() => true, 1, { from, what: `ERROR for ${JSON.stringify(args)}` });
    assertError(m.env, rid, undefined, 'INVALID_MESSAGE');
    assert.ok(m.env.error.message.includes(fragment), `"${m.env.error.message}" names ${fragment}`);
  }
  // unknown action, bad data: the requestId and the action come back
  assertError(await c.ask('nope', undefined, 'u-1'), 'u-1', 'nope', 'UNKNOWN_ACTION');
  const inv = await c.ask('subscribeArtifact', { artifactId: 7 }, 'd-1');
  assertError(inv, 'd-1', 'subscribeArtifact', 'INVALID_DATA');
  assert.equal(inv.error.message, 'Invalid data for action: data.artifactId: expected string, got number');
  // and the connection still works
  assertPing(await c.ask('ping', undefined, 'after'), 'after', Date.now());
  c.close();
});
