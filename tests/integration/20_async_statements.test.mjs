// 20_async_statements: on PostgreSQL a handler's statement waits for its
// answer on the loop, not in it (docs/decisions.md, "PostgreSQL engine",
// "Asynchrony"): the handler runs on a coroutine that yields at the
// statement, and the loop serves its sockets meanwhile; messages that arrive
// meanwhile queue behind it and are handled after it, in order.
//
// Another session holds the chat's write lock (the advisory lock every chat
// write takes first) for SLOW_MS, so a send_message's first statement waits
// that long at the server:
// - a WebSocket ping sent meanwhile is answered at once (with the statement
//   waited for in the loop, the pong came after SLOW_MS);
// - a message from another user, sent meanwhile, is answered after the
//   first, both stored, in order;
// - a connection that closes meanwhile does not disturb either;
// - switchboard_pg_waits_total counts the waits.
// PostgreSQL only: SQLite answers from the local file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as h from './harness.mjs';

const SLOW_MS = 1500;
let s, tom, ann, eve;

before(async () => {
  if (h.engine !== 'postgres') return;
  s = await h.startServer({ tag: 'asyncst', demo: false });
  tom = h.addUser(s.db, 'Tom Tech', 'TECHNICIAN');
  ann = h.addUser(s.db, 'Ann Admin', 'ADMIN');
  eve = h.addUser(s.db, 'Eve Outsider', 'SUPER_ADMIN');
});
after(h.cleanup);

/** Hold the chat's write lock from another session for ms; resolves once it is
 * held, to { released } (a promise: an async function returning a promise would
 * wait for it). */
async function holdChatLock(ms) {
  const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', s.db, '-c',
    `BEGIN; SELECT pg_advisory_xact_lock(1667785076, 1); SELECT pg_sleep(${ms / 1000}); COMMIT;`],
  { stdio: 'ignore' });
  const done = new Promise((resolve) => p.on('exit', resolve));
  await h.until(() => h.dbQuery(s, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
      AND classid = 1667785076 AND objid = 1 AND granted`).trim() === '1', h.T(10000), 'the lock held');
  return { released: done };
}

async function waits() {
  const m = await h.metrics(s);
  return m['switchboard_pg_waits_total'] ?? 0;
}

test('a statement waiting at the server does not stop the loop: pings answered, later messages queued in order', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const tom1 = await h.login(s, tom, 'tom1');
  const ann1 = await h.login(s, ann, 'ann1');
  const eve1 = await h.login(s, eve, 'eve1');
  const eve2 = await h.login(s, eve, 'eve2');
  const ann2 = await h.login(s, ann, 'ann2');
  tom1.send({ action: 'send_message', receiver_id: ann.id, text: 'open', client_message_id: 'open' });
  const room = (await ann1.waitFor(h.isType('new_room'))).data.room_id;
  await ann1.waitFor(h.isNewMessage((m) => m.text === 'open'));
  const waitsBefore = await waits();

  const { released } = await holdChatLock(SLOW_MS);
  const sent = Date.now();
  tom1.send({ action: 'send_message', room_id: room, text: 'slow', client_message_id: 'slow' });
  await h.sleep(200); // its statement waits for the lock at the server

  const pongMs = await h.pingMs(eve1);
  t.diagnostic(`pong while a statement waited: ${pongMs} ms (the lock is held ${SLOW_MS} ms)`);
  assert.ok(pongMs < SLOW_MS / 2, `the pong took ${pongMs} ms: the loop waited for the statement`);

  // queued behind the waiting one, answered after it
  ann1.send({ action: 'send_message', room_id: room, text: 'behind', client_message_id: 'behind' });
  // a message, then its connection gone at once: the message is still
  // handled (it came first), and the close waits its turn without holding
  // the loop
  ann2.send({ action: 'send_message', room_id: room, text: 'last words', client_message_id: 'last' });
  await h.sleep(50);
  ann2.ws.terminate();
  eve2.close();
  await h.sleep(100);
  const pong2Ms = await h.pingMs(eve1);
  assert.ok(Date.now() - sent < SLOW_MS - 300, 'the steps above took as long as the lock: the test proves nothing');
  t.diagnostic(`pong after two closes, the statement still waiting: ${pong2Ms} ms`);
  assert.ok(pong2Ms < SLOW_MS / 2, `the pong took ${pong2Ms} ms: a close waited for the statement`);

  const slow = await tom1.waitFor(h.isNewMessage((m) => m.text === 'slow'), { ms: h.T(10000) });
  const heardMs = Date.now() - sent;
  assert.ok(heardMs >= SLOW_MS - 300, `the message was answered after ${heardMs} ms, before the lock was free`);
  const behind = await tom1.waitFor(h.isNewMessage((m) => m.text === 'behind'), { ms: h.T(10000) });
  await tom1.waitFor(h.isNewMessage((m) => m.text === 'last words'), { ms: h.T(10000) });
  const order = tom1.messages.filter(h.isNewMessage()).map((m) => m.data.message.text);
  assert.deepEqual(order.slice(-3), ['slow', 'behind', 'last words']);
  assert.ok(Number(behind.data.message.id) > Number(slow.data.message.id));
  const rows = h.dbQuery(s, `SELECT text FROM chat_messages WHERE room_id = ${room} ORDER BY id`).trim().split('\n');
  assert.deepEqual(rows, ['open', 'slow', 'behind', 'last words']);
  await released;
  assert.ok((await waits()) > waitsBefore, 'switchboard_pg_waits_total counted the waits');

  // and the server goes on as before
  eve1.send({ action: 'send_message', receiver_id: tom.id, text: 'after', client_message_id: 'after' });
  await tom1.waitFor(h.isNewMessage((m) => m.text === 'after'), { ms: h.T(10000) });
  for (const c of [tom1, ann1, eve1]) c.close();
});

/** Lock a table from another session for ms (ACCESS EXCLUSIVE: even reads wait). */
async function holdTableLock(table, ms) {
  const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', s.db, '-c',
    `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(${ms / 1000}); COMMIT;`],
  { stdio: 'ignore' });
  const done = new Promise((resolve) => p.on('exit', resolve));
  await h.until(() => h.dbQuery(s, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE c.relname = '${table}' AND l.mode = 'AccessExclusiveLock' AND l.granted`).trim() === '1',
  h.T(10000), 'the table lock held');
  return { released: done };
}

test('HTTP requests too: one waiting at the server leaves the loop serving, the next answered after it', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const eve1 = await h.login(s, eve, 'eve3');
  const room = h.dbQuery(s, 'SELECT id FROM chat_rooms ORDER BY id LIMIT 1').trim();
  const { released } = await holdTableLock('chat_messages', SLOW_MS);
  const sent = Date.now();
  const history = h.request(s, `/api/v1/rooms/${room}/messages?limit=10`, { headers: h.bearer(tom.token) });
  await h.sleep(200); // its SELECT waits for the table at the server
  const rooms = h.request(s, '/api/v1/rooms', { headers: h.bearer(ann.token) });

  const pongMs = await h.pingMs(eve1);
  const health = Date.now();
  const hz = await h.request(s, '/healthz');
  const healthMs = Date.now() - health;
  t.diagnostic(`while a request's SELECT waited: pong ${pongMs} ms, /healthz ${healthMs} ms (${hz.status})`);
  assert.ok(pongMs < SLOW_MS / 2, `the pong took ${pongMs} ms: the loop waited for the statement`);
  assert.ok(healthMs < SLOW_MS / 2, `/healthz took ${healthMs} ms: the loop waited for the statement`);
  assert.equal(hz.status, 200);

  const hist = await history;
  const histMs = Date.now() - sent;
  assert.equal(hist.status, 200);
  assert.ok(histMs >= SLOW_MS - 300, `answered after ${histMs} ms, before the table was free`);
  const stored = h.dbQuery(s, `SELECT text FROM chat_messages WHERE room_id = ${room} ORDER BY id DESC LIMIT 10`)
    .trim().split('\n');
  assert.deepEqual(JSON.parse(hist.text).messages.map((m) => m.text), stored);
  const list = await rooms;
  assert.equal(list.status, 200);
  assert.ok(JSON.parse(list.text).rooms.length >= 1);
  await released;
  eve1.close();
});

test('a WebSocket open waits on the loop too: its authentication after the lock, its messages after its open', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const eve1 = await h.login(s, eve, 'eve4');
  const { released } = await holdTableLock('chat_users', SLOW_MS);
  const opened = Date.now();
  // the upgrade is the transport's; the open's token lookup waits for the table
  const tom2 = await h.connect(s, { token: tom.token, label: 'tom-opening' });
  tom2.send({ action: 'heartbeat' });
  await h.sleep(200);
  const pongMs = await h.pingMs(eve1);
  t.diagnostic(`pong while an open's authentication waited: ${pongMs} ms`);
  assert.ok(pongMs < SLOW_MS / 2, `the pong took ${pongMs} ms: the loop waited for the statement`);
  // its first message is handled after its open, authenticated
  await tom2.waitFor((m) => m.type === 'heartbeat_response', { ms: h.T(10000) });
  const answeredMs = Date.now() - opened;
  assert.ok(answeredMs >= SLOW_MS - 300, `answered after ${answeredMs} ms, before the table was free`);
  // and a bad token is still refused, after the wait
  await released;
  const bad = await h.connect(s, { token: 'not-a-token', label: 'bad' });
  await bad.closed;
  assert.deepEqual(bad.closeInfo, { code: 1008, reason: 'Authentication required' });
  assert.deepEqual(bad.raw, [h.errorFrame('Authentication required')]);
  tom2.close();
  eve1.close();
});
