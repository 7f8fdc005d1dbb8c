// 16_nodes: two switchboard processes (nodes) on one database, as behind a
// load balancer, without a bus between them: what one node writes, the other
// reads from the database. Message IDs become visible in ID order across all
// of a user's rooms, so a client that resumes with ?since=<newest ID seen>
// misses nothing while others write on both nodes; a direct room asked for
// on both nodes at once is one room; a retried send on both nodes at once is
// stored once; unread counts agree; a membership changed in the database is
// seen at once by a node that had read the room before (docs/decisions.md,
// "PostgreSQL engine", chat).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

// SQL on whichever engine the servers run (h.dbQuery where the harness has it)
const dbq = (s, sql) => (h.dbQuery ? h.dbQuery(s, sql) : h.sqlite(s.db, sql));

let a; let b; let c; let u;
before(async () => {
  // the other nodes start on the first's database: they find the demo seeded
  a = await h.startServer({ tag: 'nodes', unlimited: true });
  b = await h.startServer({ dir: a.dir, unlimited: true });
  c = await h.startServer({ dir: a.dir, unlimited: true });
  u = a.users;
});
after(h.cleanup);

async function send(c, obj) {
  const f = c.mark();
  c.send({ action: 'send_message', ...obj });
  const m = await c.waitFor((x) => (x.type === 'new_message' && x.data.message.is_sent
    && (x.data.message.text === obj.text || (obj.client_message_id && x.data.message.client_message_id === obj.client_message_id)))
    || x.type === 'error', { from: f, what: `ack of ${obj.text}` });
  assert.equal(m.type, 'new_message', JSON.stringify(m));
  return m.data;
}

async function roomsOf(s, user) {
  const r = await h.request(s, '/api/v1/rooms', { headers: h.bearer(user.token) });
  assert.equal(r.status, 200, r.text);
  return r.json.rooms;
}

test('the demo is seeded once when a second node starts on the database', () => {
  assert.equal(dbq(a, 'SELECT count(*) FROM chat_users').trim(), '6');
  assert.equal(b.stdout, '', 'no demo tokens printed by the second node');
  assert.equal(c.stdout, '', 'nor by the third');
});

test('?since= across rooms misses nothing while both nodes write', async () => {
  // carol (room 1) and dan (his direct room with alice) write on a, bob (his
  // direct room with alice) on b, all at once; alice resumes again and again
  // on c, where nothing is written: all she gets is the replay, so each
  // resume goes on from the newest ID the database let her see (live
  // deliveries from a node would not say what the other node committed)
  const carol = await h.login(a, u.carol, 'carol@a');
  const bob = await h.login(b, u.bob, 'bob@b');
  const dan = await h.login(a, u.dan, 'dan@a');
  const direct = {
    bob: (await send(bob, { receiver_id: u.alice.id, text: 'bob 0' })).room_id,
    dan: (await send(dan, { receiver_id: u.alice.id, text: 'dan 0' })).room_id,
  };
  const seen = new Set();
  let last = 0;
  let writing = true;
  const reader = (async () => {
    for (;;) {
      const done = !writing;
      const r = await h.connect(c, { token: u.alice.token, query: `since=${last}`, label: `alice since=${last}` });
      await r.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
      // as a client does: go on from the newest ID it got
      for (const m of r.messages.filter(h.isType('new_message'))) {
        const id = Number(m.data.message.id);
        seen.add(id);
        if (id > last) last = id;
      }
      r.close();
      await r.waitClose();
      if (done) return;
    }
  })();
  const write = async (c, room, tag) => {
    for (let i = 1; i <= 40; i++) await send(c, { room_id: room, text: `${tag} ${i}` });
  };
  await Promise.all([write(carol, '1', 'carol'), write(bob, direct.bob, 'bob'), write(dan, direct.dan, 'dan')]);
  writing = false;
  await reader;

  const all = [];
  for (const r of await roomsOf(c, u.alice)) {
    const hist = await h.request(c, `/api/v1/rooms/${r.room_id}/messages?limit=200`, { headers: h.bearer(u.alice.token) });
    assert.equal(hist.status, 200);
    for (const m of hist.json.messages) all.push(Number(m.id));
  }
  all.sort((x, y) => x - y);
  assert.equal(all.length, 122);
  const missed = all.filter((id) => id > all[0] && !seen.has(id));
  assert.deepEqual(missed, [], 'IDs a resuming reader never saw');
});

test('unread counts agree on both nodes, and a read on one clears them on both', async () => {
  // room 1: carol's 40 messages, none read by alice
  for (const s of [a, b, c]) {
    const r1 = (await roomsOf(s, u.alice)).find((r) => r.room_id === '1');
    assert.equal(r1.unread_messages_count, 40, `on the node at ${s.port}`);
  }
  const hist = await h.request(a, '/api/v1/rooms/1/messages?limit=1', { headers: h.bearer(u.alice.token) });
  const alice = await h.login(b, u.alice, 'alice@b');
  alice.send({ action: 'mark_read', message_id: hist.json.messages[0].id });
  const count = await alice.waitFor(h.isType('unread_message_count'));
  assert.deepEqual(count.data, { room_id: '1', unread_count: 0 });
  for (const s of [a, b, c]) assert.equal((await roomsOf(s, u.alice)).find((r) => r.room_id === '1').unread_messages_count, 0);
});

test('a direct room asked for on both nodes at once is one room', async () => {
  const erin = await h.login(a, u.erin, 'erin@a');
  const frank = await h.login(b, u.frank, 'frank@b');
  const [x, y] = await Promise.all([
    send(erin, { receiver_id: u.frank.id, text: 'erin first?' }),
    send(frank, { receiver_id: u.erin.id, text: 'frank first?' }),
  ]);
  assert.equal(x.room_id, y.room_id);
  const key = `${Math.min(u.erin.id, u.frank.id)}:${Math.max(u.erin.id, u.frank.id)}`;
  assert.equal(dbq(a, `SELECT count(*) FROM chat_rooms WHERE direct_key = '${key}'`).trim(), '1');
  assert.equal(dbq(a, `SELECT count(*) FROM chat_room_members WHERE room_id = ${x.room_id}`).trim(), '2');
});

test('one client_message_id sent on both nodes at once is stored once', async () => {
  const ea = await h.login(a, u.erin, 'erin@a');
  const eb = await h.login(b, u.erin, 'erin@b');
  const room = (await roomsOf(a, u.erin)).find((r) => r.type === 'TECHNICIAN_DIRECT').room_id;
  for (let i = 0; i < 5; i++) {
    const msg = { room_id: room, text: `twice ${i}`, client_message_id: `both-${i}` };
    const [x, y] = await Promise.all([send(ea, msg), send(eb, msg)]);
    assert.equal(x.message.id, y.message.id);
    assert.equal(dbq(a, `SELECT count(*) FROM chat_messages WHERE client_message_id = 'both-${i}'`).trim(), '1');
  }
});

test('a membership changed in the database is seen by a node that read the room before', async () => {
  const dan = await h.login(a, u.dan, 'dan@a');
  const carol = await h.login(a, u.carol, 'carol@a');
  await send(carol, { room_id: '1', text: 'room 1 read on a' });
  const refused = async () => {
    const f = dan.mark();
    dan.send({ action: 'send_message', room_id: '1', text: 'dan in room 1?' });
    return dan.waitFor((m) => m.type === 'error' || h.isNewMessage((x) => x.text === 'dan in room 1?')(m), { from: f });
  };
  assert.equal((await refused()).type, 'error', 'dan is not in room 1');
  // as another node (or an operator) would: dan joins room 1
  dbq(a, `INSERT INTO chat_room_members(room_id, user_id) VALUES(1, ${u.dan.id})`);
  const ok = await refused();
  assert.equal(ok.type, 'new_message', JSON.stringify(ok));
  await carol.waitFor(h.isNewMessage((x) => x.text === 'dan in room 1?'));
  dbq(a, `DELETE FROM chat_room_members WHERE room_id = 1 AND user_id = ${u.dan.id}`);
  assert.equal((await refused()).type, 'error', 'dan left room 1');
});

test('sends and read marks on both nodes at once: none refused, and the count is exact', async () => {
  // carol writes to room 1 on a; on b alice reads what she gets and writes
  // back, so each node's turns hold a member's row and the chat's append at
  // once (the order that makes two nodes wait on each other unless every
  // chat write takes the same lock first)
  const carol = await h.login(a, u.carol, 'carol@a');
  const alice = await h.login(b, u.alice, 'alice@b');
  const errors = [];
  for (const c of [carol, alice]) c.ws.on('message', (d) => { const m = JSON.parse(d); if (m.type === 'error') errors.push(`${c.label}: ${m.error}`); });
  let writing = true;
  const reader = (async () => {
    for (let i = 0; writing; i++) {
      const hist = await h.request(b, '/api/v1/rooms/1/messages?limit=1', { headers: h.bearer(u.alice.token) });
      const last = hist.json.messages[0];
      if (last && !last.is_sent) {
        alice.send({ action: 'mark_read', message_id: last.id });
        alice.send({ action: 'send_message', room_id: '1', text: `alice back ${i}` });
      }
      await h.sleep(5);
    }
  })();
  for (let i = 0; i < 60; i++) await send(carol, { room_id: '1', text: `carol burst ${i}` });
  writing = false;
  await reader;
  await alice.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  if (h.engine === 'postgres') {
    assert.deepEqual(errors, []);
  } else {
    // SQLite's processes take turns at the file's write lock and wait
    // 200 ms for it (store.c), which a slow (sanitized) build can pass:
    // such a send is refused, and counted nowhere
    for (const e of errors) assert.match(e, /Message could not be stored$/);
  }
  // the count alice has is the messages of others above her watermark
  const want = dbq(a, `SELECT count(*) FROM chat_messages m, chat_room_members rm WHERE rm.room_id = 1 AND rm.user_id = ${u.alice.id} AND m.room_id = 1 AND m.id > rm.last_read AND m.sender_id <> ${u.alice.id}`).trim();
  const got = dbq(a, `SELECT unread FROM chat_room_members WHERE room_id = 1 AND user_id = ${u.alice.id}`).trim();
  assert.equal(got, want);
});

test('every node stops cleanly, with no sanitizer report (ASan/UBSan builds)', async () => {
  for (const s of [a, b, c]) {
    assert.deepEqual(await s.stop('SIGTERM'), { code: 0, signal: null });
    assert.deepEqual(h.sanitizerReports(s), []);
  }
});
