// The bus' setup and limits (runtime/bus.h): a password (AUTH first, never
// logged; a wrong one is a degraded /healthz naming it), a unix socket, a
// bad URL or node id refused at start, and a frame over 1 MiB: delivered
// locally, not published, and the other node's clients catch up from the
// database after the gap notice (a Socket.IO client recovers it by offset).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as h from '../integration/harness.mjs';
import * as rt from '../realtime/rt.mjs';
import { startRedis, subscribed } from './redis.mjs';

const servers = [];
after(async () => {
  rt.closeAll();
  await h.cleanup();
  for (const r of servers) await r.stop();
});

async function node(dir, url, name, args = []) {
  return h.startServer({ dir, demo: false, tag: 'bus', args: ['--redis', url, '--node-id', name, '--jwt-secret', rt.SECRET, '--log-level', 'debug', ...args] });
}
const healthz = (s) => h.request(s, '/healthz');
const healthy = (s) => h.until(async () => (await healthz(s)).status === 200, h.T(5000), `${s.port}: healthy`);

test('a password in the URL: AUTH before anything; the password is never logged', async () => {
  const secret = 'Pa55-w0rd-zq81';
  const redis = await startRedis(undefined, ['--requirepass', secret]);
  servers.push(redis);
  const dir = h.tempDir('bus-auth');
  const A = await node(dir, `redis://:${secret}@127.0.0.1:${redis.port}/3`, 'A');
  const B = await node(dir, `redis://:${secret}@127.0.0.1:${redis.port}/3`, 'B');
  await healthy(A);
  await healthy(B);
  const tom = h.addUser(A.db, 'Tom Auth', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Auth', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'authenticated', client_message_id: 'a1' });
  await annB.waitFor(h.isNewMessage((m) => m.text === 'authenticated'));
  // a wrong password: degraded, saying so, and still no password in the log
  const wrong = 'Wr0ng-pa55-kx27';
  const C = await node(dir, `redis://:${wrong}@127.0.0.1:${redis.port}`, 'C');
  await h.until(async () => /AUTH refused/.test((await healthz(C)).json?.reason || ''), h.T(5000), 'C: AUTH refused');
  const r = await healthz(C);
  assert.equal(r.status, 503);
  assert.match(r.json.reason, /^bus: redis unreachable \((publish|subscribe): AUTH refused: .*\)$/);
  for (const s of [A, B, C]) {
    assert.ok(!s.stderr.includes(secret) && !s.stderr.includes(wrong), 'no password in the log');
  }
  assert.match(A.stderr, /redis=redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/3/);
  tomA.close();
  annB.close();
});

test('unix:///path: the bus over a unix socket', async () => {
  const dir = h.tempDir('bus-unix');
  const sock = path.join(dir, 'redis.sock');
  const redis = await startRedis(undefined, ['--unixsocket', sock, '--unixsocketperm', '700']);
  servers.push(redis);
  const A = await node(dir, `unix://${sock}`, 'A');
  await healthy(A);
  const m = await h.metrics(A);
  assert.equal(m.switchboard_bus_up, 1);
  assert.equal(m['switchboard_bus_info{node="A"}'], 1);
});

test('a bad --redis URL or --node-id stops the start with a clear message', () => {
  for (const [args, msg] of [
    [['--redis', 'http://127.0.0.1:6379'], /--redis: unknown scheme/],
    [['--redis', 'redis://127.0.0.1:99999'], /--redis: bad port/],
    [['--redis', 'redis://:x@'], /--redis: no host/],
    [['--redis', 'unix://relative'], /--redis: unix:\/\/: an absolute path is needed/],
    [['--redis', 'redis://127.0.0.1', '--node-id', 'a b'], /--node-id: a node id has letters/],
  ]) {
    const r = spawnSync(h.BIN, ['serve', '--port', '0', '--db', path.join(h.tempDir('bus-bad'), 'x.db'), ...args], { encoding: 'utf8', timeout: h.T(10000) });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});

test('a frame over 1 MiB: delivered locally, not published; the other node catches up from the database', async () => {
  const redis = await startRedis();
  servers.push(redis);
  const dir = h.tempDir('bus-big');
  const args = ['--max-http-body', '4m', '--max-queue', '8m', '--max-ip-connections', '0'];
  const A = await node(dir, redis.url, 'A', args);
  const B = await node(dir, redis.url, 'B', args);
  await healthy(A);
  await healthy(B);
  const key = rt.apiKey(A.db);
  const co = 'co-big';
  const onA = await rt.connect(A, { tok: rt.token({ sub: 'ua', company_id: co }), transports: ['websocket'] });
  const onB = await rt.connect(B, { tok: rt.token({ sub: 'ub', company_id: co }), transports: ['websocket'], reconnection: true, reconnectionDelay: 50 });
  await subscribed(redis, `company:${co}`, 2);
  const small = await rt.update(A, { company_id: co, action: 'small', requestId: 's1' }, key);
  assert.equal(small.status, 200);
  await h.until(() => rt.updatesOf(onB).length === 1, h.T(5000), 'B: the small UPDATE');
  // under the body's 1 MiB JSON limit, over 1 MiB as a frame: each quote is
  // 2 bytes in the envelope and 4 once the envelope is a Socket.IO string
  const big = '"'.repeat(300000);
  const r = await rt.update(A, { company_id: co, action: 'big', data: { big }, requestId: 'b1' }, key);
  assert.equal(r.status, 200, r.text);
  await h.until(() => rt.updatesOf(onA).length === 2, h.T(5000), 'A: the big UPDATE, locally');
  await h.until(async () => ((await h.metrics(A))['switchboard_bus_dropped_total{reason="too_large"}'] || 0) === 1, h.T(5000), 'A: too_large counted');
  assert.match(A.stderr, /event=bus_too_large topic=company:co-big topics=1 bytes=\d+ max=1048576/);
  // B heard the gap notice, closed the session, the client reconnected and recovered it
  await h.until(() => rt.updatesOf(onB).some((u) => u.env.action === 'big'), h.T(10000), 'B: the big UPDATE, recovered')
    .catch((e) => { console.error(B.stderr.split('\n').filter((l) => /bus|gap|realtime|eio|sio/.test(l)).slice(-30).join('\n')); throw e; });
  assert.equal(onB.recovered, true, 'recovered by offset');
  const got = rt.updatesOf(onB).find((u) => u.env.action === 'big');
  assert.equal(got.env.data.big.length, big.length);
  assert.equal(got.offset, r.json.offset);
  assert.equal(rt.updatesOf(onB).filter((u) => u.env.action === 'small').length, 1, 'the small one is not replayed');
  const mB = await h.metrics(B);
  assert.ok(mB.switchboard_bus_gaps_total >= 1);
  assert.equal((await h.metrics(A))['switchboard_bus_gap_notices_total'], 1);
});

test('a stalled Redis (stopped, its connections open): local delivery goes on, the nodes notice within seconds, and catch up when it answers again', { timeout: h.T(90000) }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const dir = h.tempDir('bus-stall');
  const A = await node(dir, redis.url, 'A');
  const B = await node(dir, redis.url, 'B');
  await healthy(A);
  await healthy(B);
  const tom = h.addUser(A.db, 'Tom Stall', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Stall', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const tomA2 = await h.login(A, tom, 'tomA2');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'before', client_message_id: 's0' });
  const room = (await annB.waitFor(h.isType('new_room'))).data.room_id;
  const first = await annB.waitFor(h.isNewMessage((m) => m.text === 'before'));

  redis.pause();
  try {
    // nothing waits for Redis: tom's devices on A hear each other at once
    const t0 = Date.now();
    tomA.send({ action: 'send_message', room_id: room, text: 'stalled', client_message_id: 's1' });
    await tomA2.waitFor(h.isNewMessage((m) => m.text === 'stalled'), { ms: h.T(2000) });
    assert.ok(Date.now() - t0 < h.T(1500), 'local delivery did not wait');
    // the heartbeat finds the publish connection dead within 10 s (+ one beat)
    await h.until(async () => (await healthz(A)).status === 503, h.T(20000), 'A: degraded', 200);
    assert.match((await healthz(A)).json.reason, /^bus: redis unreachable \((publish|subscribe): no answer for 10 s\)$/);
    // and stays so: a stopped Redis' kernel still accepts connections, which
    // is not an answer (the bus looked up again after each reconnect)
    for (let i = 0; i < 15; i++) {
      assert.equal((await healthz(A)).status, 503, `A still degraded after ${i * 200} ms`);
      await h.sleep(200);
    }
  } finally {
    redis.resume();
  }
  for (const s of [A, B]) await h.until(async () => (await healthz(s)).status === 200, h.T(20000), `${s.port}: healthy again`);
  // ann catches up: B's subscription never broke, so A's gap notice does it
  const closed = await annB.waitClose(h.T(10000));
  assert.equal(closed.code, 1012);
  const annB2 = await h.login(B, ann, 'annB2', { query: `since=${first.data.message.id}` });
  await annB2.waitFor(h.isNewMessage((m) => m.text === 'stalled'), { what: 'the message sent while Redis was stalled' });
  for (const c of [tomA, tomA2, annB2]) c.close();
});

test('nodes stop cleanly with the bus up, and with Redis gone (no leak or sanitizer report at exit)', async () => {
  const redis = await startRedis();
  const dir = h.tempDir('bus-stop');
  const A = await node(dir, redis.url, 'A');
  const B = await node(dir, redis.url, 'B');
  await healthy(A);
  await healthy(B);
  const tom = h.addUser(A.db, 'Tom Stop', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Stop', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'bye', client_message_id: 'x1' });
  await annB.waitFor(h.isNewMessage((m) => m.text === 'bye'));
  const a = await A.stop('SIGTERM');
  assert.equal(a.code, 0, A.stderr.slice(-2000));
  await redis.stop(); // B has a reconnect pending when it is told to stop
  await h.until(async () => (await healthz(B)).status === 503, h.T(5000), 'B: degraded');
  const b = await B.stop('SIGTERM');
  assert.equal(b.code, 0, B.stderr.slice(-2000));
  for (const s of [A, B]) assert.deepEqual(h.sanitizerReports(s), []);
});
