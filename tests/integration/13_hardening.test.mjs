// The hardening issue: honest health (a server whose writes fail says so on
// /healthz and /metrics, and recovers by itself), mark_read of one's own
// message, a client_message_id reused in another room, direct rooms only
// with users one may write to (unknown and disallowed answered alike), and
// connections refused over --max-connections counted and logged.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as h from './harness.mjs';

after(h.cleanup);

const STORAGE = 'Message could not be stored';

async function health(s) {
  const r = await h.request(s, '/healthz');
  return { status: r.status, body: r.json, text: r.text };
}

test('health: a full database answers 503 degraded, and 200 again once a commit succeeds', async (t) => {
  if (h.sqliteOnly(t, 'the --max-db-size quota')) return;
  const s = await h.startServer({ tag: 'health-full', args: ['--max-db-size', '400k'] });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  let h0 = await health(s);
  assert.equal(h0.status, 200);
  assert.equal(h0.body.status, 'ok');
  assert.equal(h0.body.reason, undefined);
  assert.equal((await h.metrics(s)).switchboard_healthy, 1);

  // fill the quota until a send is refused
  const text = 'x'.repeat(8000);
  let refused = false;
  for (let i = 0; i < 200 && !refused; i++) {
    const m = await alice.ask({ action: 'send_message', room_id: '1', text, client_message_id: `fill${i}` },
      (x) => x.type === 'error' || x.type === 'new_message');
    refused = m.type === 'error';
    if (refused) assert.equal(m.error, STORAGE);
  }
  assert.ok(refused, 'the quota refused a send');

  const h1 = await health(s);
  assert.equal(h1.status, 503, h1.text);
  assert.equal(h1.body.status, 'degraded');
  assert.match(h1.body.reason, /full/);
  assert.equal(typeof h1.body.version, 'string');
  assert.equal(typeof h1.body.uptime_s, 'number');
  let m = await h.metrics(s);
  assert.equal(m.switchboard_healthy, 0);
  assert.equal(m['switchboard_store_degraded_total{reason="full"}'], 1);
  // still degraded on a second look: nothing was committed since
  assert.equal((await health(s)).status, 503);

  // room again: another process deletes the filler
  h.dbQuery(s, "DELETE FROM chat_messages WHERE client_message_id LIKE 'fill%'");
  const ok = await alice.ask({ action: 'send_message', room_id: '1', text: 'after' },
    (x) => x.type === 'error' || x.type === 'new_message');
  assert.equal(ok.type, 'new_message');
  h0 = await health(s);
  assert.equal(h0.status, 200, h0.text);
  assert.equal(h0.body.status, 'ok');
  assert.equal(h0.body.reason, undefined);
  m = await h.metrics(s);
  assert.equal(m.switchboard_healthy, 1);
  assert.equal(m['switchboard_store_degraded_total{reason="full"}'], 1);
});

test('health: a database locked by another process answers 503, and 200 once released', async (t) => {
  if (h.sqliteOnly(t, 'the write lock of another sqlite3 process')) return;
  const s = await h.startServer({ tag: 'health-busy' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const locker = spawn('sqlite3', [s.db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  locker.stdout.on('data', (d) => { out += d; });
  locker.stdin.write("BEGIN IMMEDIATE;\nSELECT 'locked';\n");
  await h.until(() => out.includes('locked'), h.T(5000), 'the other process holds the lock');

  const err = await alice.ask({ action: 'send_message', room_id: '1', text: 'during' },
    (x) => x.type === 'error' || x.type === 'new_message');
  assert.equal(err.error, STORAGE);
  const h1 = await health(s);
  assert.equal(h1.status, 503, h1.text);
  assert.equal(h1.body.status, 'degraded');
  assert.match(h1.body.reason, /database is locked/);
  let m = await h.metrics(s);
  assert.equal(m.switchboard_healthy, 0);
  assert.equal(m['switchboard_store_degraded_total{reason="busy"}'], 1);

  locker.stdin.end('COMMIT;\n');
  await new Promise((r) => locker.on('exit', r));
  // no write needed: /healthz probes the lock while degraded by one
  const h2 = await health(s);
  assert.equal(h2.status, 200, h2.text);
  assert.equal(h2.body.status, 'ok');
  m = await h.metrics(s);
  assert.equal(m.switchboard_healthy, 1);
  const ok = await alice.ask({ action: 'send_message', room_id: '1', text: 'after' },
    (x) => x.type === 'error' || x.type === 'new_message');
  assert.equal(ok.type, 'new_message');
});

test('mark_read of one\'s own newest message: no status, watermark and unread count unchanged', async () => {
  const s = await h.startServer({ tag: 'own-read' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const bob = await h.login(s, u.bob, 'bob');
  const b1 = await bob.ask({ action: 'send_message', receiver_id: u.alice.id, text: 'from bob' },
    h.isNewMessage((m) => m.text === 'from bob'));
  const room = b1.data.room_id;
  await alice.waitFor(h.isNewMessage((m) => m.text === 'from bob'));
  const a1 = await alice.ask({ action: 'send_message', room_id: room, text: 'from alice' },
    h.isNewMessage((m) => m.text === 'from alice'));
  const before = h.dbQuery(s, `SELECT last_read, unread FROM chat_room_members WHERE room_id = ${room} AND user_id = ${u.alice.id}`).trim();
  assert.equal(before, '0\t1');

  const bobMark = bob.mark();
  const c = await alice.ask({ action: 'mark_read', message_id: a1.data.message.id }, h.isType('unread_message_count'));
  assert.deepEqual(c.data, { room_id: room, unread_count: 1 });
  assert.equal(h.dbQuery(s, `SELECT last_read, unread FROM chat_room_members WHERE room_id = ${room} AND user_id = ${u.alice.id}`).trim(), before);
  assert.equal(h.dbQuery(s, 'SELECT count(*) FROM chat_message_status').trim(), '0');
  // then reading bob's message does zero it, and bob hears of that one only
  const c2 = await alice.ask({ action: 'mark_read', message_id: b1.data.message.id }, h.isType('unread_message_count'));
  assert.equal(c2.data.unread_count, 0);
  const st = await bob.waitFor((m) => m.type === 'message_status', { from: bobMark });
  assert.equal(st.data.message_id, b1.data.message.id);
  assert.equal(st.data.status, 'read');
  await alice.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.equal(bob.messages.slice(bobMark).filter((m) => m.type === 'message_status').length, 1);
  assert.equal(alice.count((m) => m.type === 'message_status'), 0);
});

test('client_message_id reused in another room is refused; in the same room it is an idempotent retry', async () => {
  const s = await h.startServer({ tag: 'cmid' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const first = await alice.ask({ action: 'send_message', room_id: '1', text: 'one', client_message_id: 'c-1' },
    h.isNewMessage((m) => m.text === 'one'));
  // another room (a direct room with bob, existing or made for it): refused, nothing stored
  const roomsBefore = h.dbQuery(s, 'SELECT count(*) FROM chat_rooms').trim();
  const err = await alice.ask({ action: 'send_message', receiver_id: u.bob.id, text: 'two', client_message_id: 'c-1' },
    (m) => m.type === 'error' || m.type === 'new_message');
  assert.equal(alice.raw[alice.messages.indexOf(err)], h.errorFrame('client_message_id already used in another room'));
  assert.equal(h.dbQuery(s, 'SELECT count(*) FROM chat_rooms').trim(), roomsBefore, 'no direct room left behind');
  // with an existing other room, by room_id: the same
  const dm = await alice.ask({ action: 'send_message', receiver_id: u.bob.id, text: 'dm' }, h.isNewMessage((m) => m.text === 'dm'));
  const err2 = await alice.ask({ action: 'send_message', room_id: dm.data.room_id, text: 'two', client_message_id: 'c-1' },
    (m) => m.type === 'error' || m.type === 'new_message');
  assert.equal(alice.raw[alice.messages.indexOf(err2)], h.errorFrame('client_message_id already used in another room'));
  // the same room: the stored message again, same id, stored once
  const again = await alice.ask({ action: 'send_message', room_id: '1', text: 'one', client_message_id: 'c-1' },
    h.isNewMessage((m) => m.client_message_id === 'c-1'));
  assert.equal(again.data.message.id, first.data.message.id);
  assert.equal(again.data.room_id, '1');
  assert.equal(h.dbQuery(s, "SELECT count(*) FROM chat_messages WHERE client_message_id = 'c-1'").trim(), '1');
});

test('receiver_id: an unknown user and one that may not be written to are answered alike, and nothing happens', async () => {
  const s = await h.startServer({ tag: 'receiver' });
  const u = s.users;
  const uma = h.addUser(s.db, 'Uma Unassigned', 'UNKNOWN');
  const alice = await h.login(s, u.alice, 'alice');
  const umaC = await h.login(s, uma, 'uma');
  const rooms = () => h.dbQuery(s, 'SELECT count(*) FROM chat_rooms').trim();
  const before = rooms();
  const m0 = await h.metrics(s);
  const answer = async (receiver_id) => {
    const from = alice.mark();
    alice.send({ action: 'send_message', receiver_id, text: 'hello?' });
    await alice.waitFor(() => true, { from });
    await alice.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
    return alice.raw.slice(from, alice.raw.length - 1);
  };
  const unknown = await answer(String(Number(uma.id) + 1000));
  const disallowed = await answer(uma.id);
  assert.deepEqual(unknown, [h.errorFrame('Room not found')]);
  assert.deepEqual(disallowed, unknown);
  assert.equal(rooms(), before);
  const m1 = await h.metrics(s);
  assert.equal(m1['switchboard_errors_total{kind="error_reply"}'] - (m0['switchboard_errors_total{kind="error_reply"}'] || 0), 2);
  assert.equal(m1.switchboard_commits_total, m0.switchboard_commits_total);
  await h.sleep(h.T(100));
  assert.equal(umaC.count((m) => m.type !== 'heartbeat_response'), 0, 'uma heard nothing');
  // nor may a user without a role open one: the same answer, whoever the receiver
  const fromUma = await umaC.ask({ action: 'send_message', receiver_id: u.alice.id, text: 'hi' }, () => true);
  assert.equal(umaC.raw[umaC.messages.indexOf(fromUma)], h.errorFrame('Room not found'));
  assert.equal(rooms(), before);
  // users with a role still open direct rooms with each other
  const ok = await alice.ask({ action: 'send_message', receiver_id: u.carol.id, text: 'hi carol' }, h.isType('new_message'));
  assert.equal(ok.data.message.text, 'hi carol');
});

test('connections refused over --max-connections are counted and logged, at most a line a second', async () => {
  const s = await h.startServer({ tag: 'refused', args: ['--max-connections', '1'] });
  const a = await h.login(s, s.users.alice, 'one');
  const refuse = async () => {
    const c = await h.connect(s, { token: s.users.bob.token, label: 'extra' });
    assert.deepEqual(await c.waitClose(), { code: 1013, reason: 'too many connections' });
  };
  await refuse();
  await refuse();
  await refuse();
  const m = await h.metrics(s);
  assert.equal(m['switchboard_connections_refused_total{reason="max_connections"}'], 3);
  await h.until(() => /event=connections_refused/.test(s.stderr), h.T(2000), 'the log line');
  const lines = () => s.stderr.split('\n').filter((l) => l.includes('event=connections_refused'));
  assert.equal(lines().length, 1, lines().join('\n'));
  assert.match(lines()[0], /level=warn event=connections_refused reason=max_connections max=1 count=1$/);
  await h.sleep(1100);
  await refuse();
  assert.equal(lines().length, 2, lines().join('\n'));
  assert.match(lines()[1], /count=3$/);
  assert.equal((await a.ask({ action: 'heartbeat' })).type, 'heartbeat_response');
});
