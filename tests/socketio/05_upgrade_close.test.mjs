// Engine.IO v4 upgrade from polling to WebSocket (2probe/3probe, the held GET
// answered "6", then "5"), what happens to the polling side and to a second
// WebSocket afterwards, and the close packet "1" from the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, cleanup, openWs, eioWs, eioUrl, Polling, T, sleep, PING_INTERVAL, SEP } from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

/** a polling session and a probe WebSocket opened with its sid */
async function probeSocket(base = '/engine.io/') {
  const p = new Polling(s, base);
  await p.handshake();
  const r = await openWs(s, eioUrl(base, { transport: 'websocket', sid: p.sid }), { label: 'probe' });
  assert.ok(r.ws, `the upgrade WebSocket opens: ${JSON.stringify(r)}`);
  return { p, c: r.ws };
}

test('upgrade: "2probe" → "3probe" on the WebSocket, the held GET gets "6", after "5" messages flow on the WebSocket', async () => {
  const { p, c } = await probeSocket();
  assert.deepEqual(c.frames, [], 'nothing is sent on the probe WebSocket before the probe (no open packet)');
  const held = p.get();
  await sleep(T(20));
  const probe = await c.ask('2probe', '3probe');
  assert.equal(probe.text, '3probe');
  const g = await held;
  assert.equal(g.status, 200);
  assert.equal(g.text, '6');
  c.send('5');
  const echo = await c.ask('4hello');
  assert.equal(echo.text, '4hello');
  const bin = await c.ask(Buffer.from([1, 2, 3]));
  assert.deepEqual(bin.binary, Buffer.from([1, 2, 3]));
  c.close();
});

test('upgrade: a GET made after the probe is answered "6" promptly', async () => {
  const { p, c } = await probeSocket();
  await c.ask('2probe', '3probe');
  const g = await p.get({ ms: T(1000) });
  assert.equal(g.status, 200);
  assert.equal(g.text, '6');
  c.send('5');
  c.close();
});

test('upgrade: messages queued for the session during the probe are delivered on the WebSocket after "5"', async () => {
  const { p, c } = await probeSocket();
  await c.ask('2probe', '3probe');
  await p.send(`4queued-1${SEP}4queued-2`); // echoed while no GET is held
  const from = c.mark();
  c.send('5');
  const fs = await c.waitFrames(2, { from, what: 'the queued echoes on the WebSocket' });
  assert.deepEqual(fs.map((f) => f.text), ['4queued-1', '4queued-2']);
  c.close();
});

test('upgrade: after "5", a poll with that sid → 400 {"code":3,"message":"Bad request"}; the WebSocket keeps working', async () => {
  const { p, c } = await probeSocket();
  await c.ask('2probe', '3probe');
  c.send('5');
  await sleep(T(20));
  const g = await p.get();
  assert.equal(g.status, 400);
  assert.deepEqual(g.json, { code: 3, message: 'Bad request' });
  const r = await p.post('4x');
  assert.equal(r.status, 400);
  assert.equal((await c.ask('4still')).text, '4still');
  c.close();
});

test('upgrade: after "5", a second WebSocket with that sid is closed without a packet; the first keeps working', async () => {
  const { p, c } = await probeSocket();
  await c.ask('2probe', '3probe');
  c.send('5');
  await sleep(T(20));
  const r = await openWs(s, eioUrl('/engine.io/', { transport: 'websocket', sid: p.sid }), { label: 'second' });
  if (r.ws) {
    await r.ws.waitClose();
    assert.deepEqual(r.ws.frames, [], 'the second WebSocket got nothing');
  } else {
    assert.ok(r.status === 400 || r.closed, JSON.stringify(r));
  }
  assert.equal((await c.ask('4first')).text, '4first');
  c.close();
});

test('upgrade: the upgraded session is pinged on the WebSocket and lives on with pongs', async () => {
  const { c } = await probeSocket();
  await c.ask('2probe', '3probe');
  const from = c.mark();
  c.send('5');
  const pings = await c.waitFrames(2, { from, pred: (f) => f.text === '2', withPings: true, ms: T(3 * PING_INTERVAL + 500), what: 'pings after the upgrade' });
  assert.equal(pings.length, 2);
  assert.equal(c.closeInfo, null);
  c.close();
});

test('upgrade (/socket.io/): a Socket.IO connection made over polling carries on over the WebSocket', async () => {
  const { p, c } = await probeSocket('/socket.io/');
  await p.send('40{"via":"polling"}');
  const got = await p.collect((ps) => ps.length >= 2);
  assert.match(got[0], /^40\{"sid":"[^"]+"\}$/);
  assert.equal(got[1], '42["auth",{"via":"polling"}]');
  await c.ask('2probe', '3probe');
  c.send('5');
  const echo = await c.ask('42["message","over websocket"]');
  assert.equal(echo.text, '42["message-back","over websocket"]');
  c.close();
});

test('close (polling): a "1" from the client answers the held GET with "6" and ends the session', async () => {
  const p = new Polling(s);
  await p.handshake();
  const held = p.get();
  await sleep(T(20));
  const r = await p.post('1');
  assert.ok([0, 200].includes(r.status), `POST 1 answered ${r.status}`);
  const g = await held;
  assert.equal(g.status, 200);
  assert.equal(g.text, '6');
  const after = await p.get();
  assert.equal(after.status, 400);
});

test('close (polling): a "1" with no GET held ends the session', async () => {
  const p = new Polling(s);
  await p.handshake();
  await p.post('1');
  const g = await p.get();
  assert.equal(g.status, 400);
});

// The spec: "1" closes the session, so a WebSocket should end at once. The
// reference ignores "1" on a WebSocket and the connection only ends when the
// unanswered ping times out, so only that weaker bound is asserted.
test('close (websocket): after a "1" from the client (pings left unanswered) the connection ends', async () => {
  const c = await eioWs(s, '/engine.io/', { autoPong: false });
  c.send('1');
  await c.waitClose(T(2000));
});
