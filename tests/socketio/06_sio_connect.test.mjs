// Socket.IO v5 CONNECT: the reply 40{"sid":...} on / and /custom (with and
// without auth, with and without the comma after the namespace), the `auth`
// event the conformance server emits with the CONNECT payload, unknown
// namespaces, the connect timeout, and what may not come first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTarget, cleanup, eioWs, sioWs, sioJoin, Polling, T, CONNECT_TIMEOUT,
} from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

/** an open Engine.IO WebSocket on /socket.io/ with nothing joined yet */
const bare = (opts) => eioWs(s, '/socket.io/', opts);

/** send `packet`, resolve the next two frames (the CONNECT reply and the auth event) */
async function connectFrames(c, packet) {
  const from = c.mark();
  c.send(packet);
  const fs = await c.waitFrames(2, { from, what: `answers to ${packet}` });
  return fs.map((f) => f.text);
}

const SID_ONLY = (prefix) => new RegExp(`^40${prefix.replace(/[/]/g, '\\/')}\\{"sid":"[^"]+"\\}$`);

test('CONNECT "40" → "40{"sid":...}" (sid only, a new id, not the Engine.IO sid), then 42["auth",{}]', async () => {
  const c = await bare();
  const [reply, auth] = await connectFrames(c, '40');
  assert.match(reply, SID_ONLY(''));
  const data = JSON.parse(reply.slice(2));
  assert.deepEqual(Object.keys(data), ['sid']);
  assert.notEqual(data.sid, c.open.sid, 'the Socket.IO sid is not the Engine.IO sid');
  assert.equal(auth, '42["auth",{}]');
  c.close();
});

test('CONNECT "40{auth}" → the auth payload comes back in the auth event', async () => {
  const c = await bare();
  const [reply, auth] = await connectFrames(c, '40{"token":"123"}');
  assert.match(reply, SID_ONLY(''));
  assert.equal(auth, '42["auth",{"token":"123"}]');
  c.close();
});

test('CONNECT with a nested, UTF-8 auth payload → the auth event carries it intact', async () => {
  const c = await bare();
  const authObj = { name: 'é ü € 😀', nested: { list: [1, 'two', null, true], n: -1.5 } };
  const [, auth] = await connectFrames(c, `40${JSON.stringify(authObj)}`);
  assert.equal(auth, `42${JSON.stringify(['auth', authObj])}`);
  c.close();
});

test('CONNECT "40/custom," → "40/custom,{"sid":...}" and 42/custom,["auth",{}]', async () => {
  const c = await bare();
  const [reply, auth] = await connectFrames(c, '40/custom,');
  assert.match(reply, SID_ONLY('/custom,'));
  assert.equal(auth, '42/custom,["auth",{}]');
  c.close();
});

test('CONNECT "40/custom,{auth}" → the auth event on /custom carries the payload', async () => {
  const c = await bare();
  const [reply, auth] = await connectFrames(c, '40/custom,{"token":"abc"}');
  assert.match(reply, SID_ONLY('/custom,'));
  assert.equal(auth, '42/custom,["auth",{"token":"abc"}]');
  c.close();
});

test('CONNECT "40/custom" without a comma is a CONNECT to /custom', async () => {
  const c = await bare();
  const [reply, auth] = await connectFrames(c, '40/custom');
  assert.match(reply, SID_ONLY('/custom,'));
  assert.equal(auth, '42/custom,["auth",{}]');
  c.close();
});

test('CONNECT to / and to /custom on one connection: each namespace gets its own sid, and / still echoes', async () => {
  const c = await sioWs(s);
  await sioJoin(c, { nsp: '/custom' });
  assert.notEqual(c.sioSid['/'], c.sioSid['/custom']);
  assert.equal((await c.ask('42["message","both"]')).text, '42["message-back","both"]');
  c.close();
});

test('CONNECT ids are unique across connections', async () => {
  const sids = new Set();
  for (let i = 0; i < 3; i++) {
    const c = await sioWs(s);
    sids.add(c.sioSid['/']);
    c.close();
  }
  assert.equal(sids.size, 3);
});

for (const packet of ['40/random', '40/random,{"token":"x"}']) {
  test(`CONNECT to an unknown namespace (${packet}) → exactly 44/random,{"message":"Invalid namespace"}; a valid CONNECT still works after it`, async () => {
    const c = await bare();
    const from = c.mark();
    c.send(packet);
    const [f] = await c.waitFrames(1, { from });
    assert.equal(f.text, '44/random,{"message":"Invalid namespace"}');
    await sioJoin(c, { nsp: '/' });
    assert.equal((await c.ask('42["message",1]')).text, '42["message-back",1]');
    c.close();
  });
}

test('CONNECT over polling: a POSTed "40" is answered on the poll with 40{"sid"} then the auth event', async () => {
  const p = new Polling(s, '/socket.io/');
  await p.handshake();
  await p.send('40{"over":"polling"}');
  const got = await p.collect((ps) => ps.length >= 2);
  assert.match(got[0], SID_ONLY(''));
  assert.equal(got[1], '42["auth",{"over":"polling"}]');
  await p.send('42["message","é€"]');
  assert.deepEqual(await p.collect((ps) => ps.length >= 1), ['42["message-back","é€"]']);
});

test('connect timeout: no CONNECT within it → the connection is closed (pings answered, so not a ping timeout)', async () => {
  const c = await bare({ autoPong: true });
  const info = await c.waitClose(CONNECT_TIMEOUT + T(1500));
  const ms = info.at - c.openFrame.at;
  assert.ok(ms >= CONNECT_TIMEOUT - 100, `closed after ${ms} ms, before the connect timeout (${CONNECT_TIMEOUT})`);
  assert.ok(ms <= CONNECT_TIMEOUT + T(600), `closed after ${ms} ms, well after the connect timeout (${CONNECT_TIMEOUT})`);
  assert.ok(c.frames.some((f) => f.text === '2'), 'pings came and were answered');
});

test('connect timeout: a refused CONNECT (unknown namespace) does not count, the connection is closed at the timeout', async () => {
  const c = await bare({ autoPong: true });
  c.send('40/random');
  const info = await c.waitClose(CONNECT_TIMEOUT + T(1500));
  const ms = info.at - c.openFrame.at;
  assert.ok(ms >= CONNECT_TIMEOUT - 100 && ms <= CONNECT_TIMEOUT + T(600), `closed after ${ms} ms`);
});

test('connect timeout: a connection that joined a namespace is not closed by it', async () => {
  const c = await sioWs(s);
  assert.ok(await c.staysOpen(CONNECT_TIMEOUT + 300), `closed: ${JSON.stringify(c.closeInfo)}`);
  c.close();
});

for (const [what, packet] of [
  ['an EVENT', '42["message","too early"]'],
  ['an EVENT with an ack id', '421["message-with-ack"]'],
  ['a DISCONNECT', '41'],
  ['a Socket.IO packet of unknown type ("4abc")', '4abc'],
]) {
  test(`the first packet must be a CONNECT: ${what} before it closes the connection`, async () => {
    const c = await bare();
    c.send(packet);
    await c.waitClose(T(800));
    assert.deepEqual(c.packets(1).map((f) => f.text), [], 'nothing answered');
  });
}

for (const packet of ['40"token"', '40[1]', '40/custom,"x"']) {
  test(`a CONNECT payload that is not an object (${packet}) closes the connection`, async () => {
    const c = await bare();
    c.send(packet);
    await c.waitClose(T(800));
  });
}
