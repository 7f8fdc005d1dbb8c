// Engine.IO v4 heartbeat: the server pings ("2") every pingInterval and the
// client answers "3"; without the answer the session ends pingTimeout after
// the ping; a "2" from the client is a protocol error. Timing bounds are
// generous above (a loaded machine is late) and tight below (early is a bug).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, cleanup, eioWs, Polling, T, sleep, PING_INTERVAL, PING_TIMEOUT, SEP } from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

const EARLY = 60; // ms a timer may seem early by, measured at the client
const late = (ms = 250) => T(ms); // how late it may be

function assertAbout(ms, expected, what) {
  assert.ok(ms >= expected - EARLY, `${what}: ${ms} ms, expected about ${expected} (not before ${expected - EARLY})`);
  assert.ok(ms <= expected + late(), `${what}: ${ms} ms, expected about ${expected} (not after ${expected + late()})`);
}

/**
 * each interval about `expected`, and their median close to it: one late timer is forgiven, a
 * wrong period is not. "Early" is judged on the schedule (the k-th ping not before k periods
 * less EARLY), not on one interval alone: a ping the loaded client read late makes the next
 * interval look short without any ping being early (a CI run: 169 ms after one read late).
 */
function assertSchedule(intervals, expected, what) {
  let at = 0;
  intervals.forEach((ms, i) => {
    at += ms;
    assert.ok(at >= (i + 1) * expected - EARLY, `${what} ${i + 1}: at ${at} ms, expected not before ${(i + 1) * expected - EARLY} (${JSON.stringify(intervals)})`);
    assert.ok(ms <= expected + late(), `${what} ${i + 1}: ${ms} ms, expected about ${expected} (not after ${expected + late()})`);
  });
  const sorted = [...intervals].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  assert.ok(Math.abs(median - expected) <= T(60), `${what}: median ${median} ms of ${JSON.stringify(intervals)}, expected ${expected}`);
}

for (const base of ['/engine.io/', '/socket.io/']) {
  test(`heartbeat (websocket ${base}): a "2" every pingInterval after the open packet; each answered "3" keeps the session`, async () => {
    const c = await eioWs(s, base, { autoPong: true });
    if (base === '/socket.io/') c.send('40'); // or the connect timeout ends it first
    const pings = await c.waitFrames(3, { pred: (f) => f.text === '2', withPings: true, ms: T(3000), what: 'three pings' });
    assertSchedule([pings[0].at - c.openFrame.at, pings[1].at - pings[0].at, pings[2].at - pings[1].at], PING_INTERVAL, 'ping');
    assert.equal(c.closeInfo, null, 'still open');
    c.close();
  });
}

test('heartbeat (websocket): pings keep their schedule while messages flow both ways', async () => {
  const c = await eioWs(s);
  const timer = setInterval(() => { if (!c.closeInfo) c.send('4busy'); }, 20);
  try {
    await sleep(3 * PING_INTERVAL + 150);
  } finally {
    clearInterval(timer);
  }
  const pings = c.frames.filter((f) => f.text === '2');
  assert.ok(pings.length >= 3, `${pings.length} pings in ${3 * PING_INTERVAL + 150} ms of traffic`);
  assertSchedule(pings.slice(1).map((p, i) => p.at - pings[i].at), PING_INTERVAL, 'ping interval');
  assert.ok(c.frames.filter((f) => f.text === '4busy').length > 20, 'the echoes came back');
  assert.equal(c.closeInfo, null);
  c.close();
});

test('heartbeat (websocket): no "3" → the connection is closed pingTimeout after the ping', async () => {
  const c = await eioWs(s, '/engine.io/', { autoPong: false });
  const info = await c.waitClose(T(3000));
  const ping = c.frames.find((f) => f.text === '2');
  assert.ok(ping, 'a ping came first');
  assertAbout(info.at - ping.at, PING_TIMEOUT, 'close after the unanswered ping');
});

test('heartbeat (polling): the poll gets "2" every pingInterval; answered with a POSTed "3" the session lives', async () => {
  const p = new Polling(s);
  await p.handshake();
  let last = Date.now();
  const intervals = [];
  for (let i = 0; i < 3; i++) {
    const g = await p.get();
    assert.equal(g.status, 200);
    assert.equal(g.text, '2');
    intervals.push(Date.now() - last);
    const r = await p.post('3');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
    last = Date.now();
  }
  assertSchedule(intervals, PING_INTERVAL, 'ping after the handshake or the last pong');
  await p.send('4alive');
  assert.deepEqual(await p.collect((ps) => ps.includes('4alive')), ['4alive']);
});

test('heartbeat (polling): no "3" → the held poll gets the close packet "1" pingTimeout after the ping, then 400', async () => {
  const p = new Polling(s);
  await p.handshake();
  const g = await p.get();
  assert.equal(g.text, '2');
  const t0 = Date.now();
  const held = await p.get({ ms: T(3000) });
  assert.equal(held.status, 200);
  assert.equal(held.text.split(SEP).at(-1), '1', `the held poll ends with the close packet: ${JSON.stringify(held.text)}`);
  assertAbout(Date.now() - t0, PING_TIMEOUT, 'close after the unanswered ping');
  const after = await p.get();
  assert.equal(after.status, 400);
});

test('heartbeat (polling): no poll at all → the session is gone after pingInterval + pingTimeout', async () => {
  const p = new Polling(s);
  await p.handshake();
  await sleep(PING_INTERVAL + PING_TIMEOUT + T(100));
  const r = await p.get();
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { code: 1, message: 'Session ID unknown' });
});

test('heartbeat: a "2" (ping) from the client is a protocol error: the WebSocket is closed', async () => {
  const c = await eioWs(s);
  c.send('2');
  await c.waitClose(T(1000));
});

test('heartbeat: a "2" (ping) POSTed by the client is a protocol error: the polling session ends', async () => {
  const p = new Polling(s);
  await p.handshake();
  const r = await p.post('2');
  assert.ok([0, 200, 400].includes(r.status), `POST answered ${r.status}`);
  const g = await p.get();
  assert.equal(g.status, 400);
});
