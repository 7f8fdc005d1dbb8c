// SIGTERM: open clients get close 1001, the process exits 0 within a few
// seconds, and a message acknowledged just before is in the database.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

for (const [sig, num] of [['SIGTERM', 15], ['SIGINT', 2]]) {
  test(`${sig} with no clients: exit 0, "stopped clean=1" logged`, async () => {
    const s = await h.startServer({ tag: 'term0' });
    const t0 = Date.now();
    const exit = await s.stop(sig, h.T(5000));
    assert.deepEqual(exit, { code: 0, signal: null }, s.stderr.split('\n').slice(-5).join('\n'));
    assert.ok(Date.now() - t0 < h.T(3000));
    assert.match(s.stderr, new RegExp(`event=shutdown signal=${num} connections=0`));
    assert.match(s.stderr, /event=stopped clean=1/);
  });
}

test('SIGTERM with clients: each gets 1001, exit 0 within a few seconds, the last acknowledged message is stored', async () => {
  const s = await h.startServer({ tag: 'term' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const alice2 = await h.login(s, u.alice, 'alice2');
  const carol = await h.login(s, u.carol, 'carol');
  const paused = await h.login(s, u.bob, 'bob (not reading)');
  paused.ws._socket.pause();
  const ack = await alice.ask({ action: 'send_message', room_id: '1', text: 'last words', client_message_id: 'last-1' }, h.isType('new_message'));
  const id = ack.data.message.id;
  const t0 = Date.now();
  const exiting = s.stop('SIGTERM', h.T(8000));
  for (const c of [alice, alice2, carol]) {
    assert.deepEqual(await c.waitClose(h.T(5000)), { code: 1001, reason: 'server shutting down' }, c.label);
  }
  const exit = await exiting;
  assert.deepEqual(exit, { code: 0, signal: null }, s.stderr.split('\n').slice(-5).join('\n'));
  assert.ok(Date.now() - t0 < h.T(4000), `exited in ${Date.now() - t0} ms (grace is 2 s)`);
  assert.match(s.stderr, /event=shutdown signal=15 connections=4/);
  paused.terminate();

  // after a restart the message is there, once
  assert.equal(h.dbQuery(s, `SELECT id, text FROM chat_messages WHERE client_message_id = 'last-1'`).trim(), `${id}\tlast words`);
  const s2 = await h.startServer({ dir: s.dir });
  const hist = await h.request(s2, '/api/v1/rooms/1/messages', { headers: h.bearer(u.carol.token) });
  assert.deepEqual(hist.json.messages.map((m) => [m.id, m.text]), [[id, 'last words']]);
});

test('after SIGTERM no new connection is accepted', async () => {
  const s = await h.startServer({ tag: 'term2' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  process.kill(s.pid, 'SIGTERM');
  await alice.waitClose(h.T(5000));
  await assert.rejects(h.login(s, u.bob, 'late'));
  const exit = await s.stop('SIGTERM', h.T(5000));
  assert.deepEqual(exit, { code: 0, signal: null });
});

test('SIGKILL right after an acknowledgement: the message is in the database', async () => {
  // durability without the graceful path
  const s = await h.startServer({ tag: 'kill' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const ack = await alice.ask({ action: 'send_message', room_id: '1', text: 'acknowledged', client_message_id: 'k-1' }, h.isType('new_message'));
  await s.stop('SIGKILL');
  assert.equal(h.dbQuery(s, `SELECT id, text FROM chat_messages WHERE client_message_id = 'k-1'`).trim(), `${ack.data.message.id}\tacknowledged`);
});

test('SIGTERMs repeated through the shutdown still end in exit 0', async () => {
  // a supervisor may signal again; the teardown after the loop must not be
  // killed by one (the signal events are gone by then)
  const s = await h.startServer({ tag: 'term3' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  await alice.ask({ action: 'send_message', room_id: '1', text: 'x' }, h.isType('new_message'));
  process.kill(s.pid, 'SIGTERM');
  let sent = 1;
  const deadline = Date.now() + h.T(5000);
  while (s.exitCode === undefined && Date.now() < deadline) {
    try { process.kill(s.pid, 'SIGTERM'); } catch { break; }
    sent++;
    await new Promise((r) => setImmediate(r));
  }
  const exit = await s.stop('SIGTERM', h.T(8000));
  assert.deepEqual(exit, { code: 0, signal: null }, `after ${sent} SIGTERMs`);
  assert.match(s.stderr, /event=stopped clean=1/);
});
