// Per-connection and per-user limits, enforced by the runtime for every
// protocol; the chat answers each with an error in the document's style, then
// the connection is closed with 1008, and /metrics counts it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

const closed = (c) => h.until(() => c.closeInfo, h.T(3000), 'the close');

test('more messages a second than --max-message-rate (burst twice that): Rate limit exceeded, then 1008', async () => {
  const s = await h.startServer({ tag: 'rate', args: ['--max-message-rate', '20'] });
  const alice = await h.login(s, s.users.alice, 'alice');
  // 200 a second, in steps of 5 ms, until the server closes
  for (let i = 0; i < 200 && !alice.closeInfo; i++) {
    alice.send({ action: 'heartbeat' });
    await h.sleep(5);
  }
  await closed(alice);
  assert.equal(alice.closeInfo.code, 1008, `${alice.messages.length} messages; ${alice.lastFew()}`);
  assert.ok(alice.raw.includes(h.errorFrame('Rate limit exceeded')), alice.lastFew());
  // about the burst was answered, not the rest
  const answered = alice.count(h.isType('heartbeat_response'));
  assert.ok(answered >= 40 && answered <= 60, `${answered} heartbeats answered`);
  const m = await h.metrics(s);
  assert.equal(m['switchboard_limited_total{limit="messages"}'], 1);
  // a client that stays under the rate is never stopped
  const bob = await h.login(s, s.users.bob, 'bob');
  for (let i = 0; i < 10; i++) {
    await bob.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
    await h.sleep(60);
  }
  assert.ok(!bob.closeInfo, "a client under the rate stays connected");
});

test('more bytes a second than --max-byte-rate (burst four times that): Rate limit exceeded, then 1008', async () => {
  const s = await h.startServer({ tag: 'bytes', args: ['--max-byte-rate', '4k'] });
  const alice = await h.login(s, s.users.alice, 'alice');
  const text = 'x'.repeat(4000);
  for (let i = 0; i < 8 && !alice.closeInfo; i++) {
    alice.send({ action: 'send_message', room_id: '1', text });
    await h.sleep(5);
  }
  await closed(alice);
  assert.equal(alice.closeInfo.code, 1008);
  assert.ok(alice.raw.includes(h.errorFrame('Rate limit exceeded')));
  assert.equal((await h.metrics(s))['switchboard_limited_total{limit="bytes"}'], 1);
});

test('more invalid messages a minute than --max-invalid: Too many invalid messages, then 1008', async () => {
  const s = await h.startServer({ tag: 'invalid', args: ['--max-invalid', '5'] });
  const alice = await h.login(s, s.users.alice, 'alice');
  for (let i = 0; i < 10 && !alice.closeInfo; i++) {
    alice.send('not json');
    await h.sleep(5);
  }
  await closed(alice);
  assert.equal(alice.closeInfo.code, 1008);
  assert.equal(alice.count((m) => m.type === 'error' && m.error === 'Invalid JSON format'), 6);
  assert.ok(alice.raw.includes(h.errorFrame('Too many invalid messages')));
  assert.equal((await h.metrics(s))['switchboard_limited_total{limit="invalid"}'], 1);
});

test('one user past --max-user-connections: the new connection gets Too many connections, then 1008', async () => {
  const s = await h.startServer({ tag: 'peruser', args: ['--max-user-connections', '3'] });
  const u = s.users;
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push(await h.login(s, u.alice, `a${i}`));
  const extra = await h.connect(s, { token: u.alice.token, label: 'a3' });
  await closed(extra);
  assert.equal(extra.closeInfo.code, 1008);
  assert.ok(extra.raw.includes(h.errorFrame('Too many connections')), extra.lastFew());
  // another user is not affected, and a freed place can be taken again
  await h.login(s, u.bob, 'bob');
  mine[0].close();
  await closed(mine[0]);
  await h.sleep(100);
  await h.login(s, u.alice, 'again');
  assert.equal((await h.metrics(s))['switchboard_limited_total{limit="connections"}'], 1);
});

test('more WebSocket pings a second than --max-ping-rate (burst twice that): close 1008', async () => {
  const s = await h.startServer({ tag: 'pings', args: ['--max-ping-rate', '10'] });
  const alice = await h.login(s, s.users.alice, 'alice');
  let pongs = 0;
  alice.ws.on('pong', () => { pongs++; });
  for (let i = 0; i < 200 && !alice.closeInfo; i++) {
    alice.ws.ping('p');
    await h.sleep(2);
  }
  await closed(alice);
  assert.equal(alice.closeInfo.code, 1008);
  assert.equal(alice.closeInfo.reason, 'too many pings');
  assert.ok(pongs >= 10 && pongs <= 30, `${pongs} pongs before the close`);
  const m = await h.metrics(s);
  assert.equal(m['switchboard_connections_closed_total{reason="pings"}'], 1);
  // pings at the rate are answered and never stopped
  const bob = await h.login(s, s.users.bob, 'bob');
  let bobPongs = 0;
  bob.ws.on('pong', () => { bobPongs++; });
  for (let i = 0; i < 15; i++) {
    bob.ws.ping('p');
    await h.sleep(120);
  }
  await h.sleep(100);
  assert.ok(!bob.closeInfo, 'a client under the rate stays connected');
  assert.equal(bobPongs, 15);
});
