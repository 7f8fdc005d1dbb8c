// kill -9 in the middle of a burst of sends from many clients: every message
// a sender saw acknowledged (its own new_message echo, is_sent true) is in the
// database after a restart, exactly once; retries with the same
// client_message_id then complete the burst without duplicates.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

const CLIENTS = 20;
const PER_CLIENT = 200;
const WINDOW = 10; // sends in flight per client
const KILL_AT = 1000; // acknowledged messages, in all

/** Send `texts` for one client with at most WINDOW unacknowledged; calls
 * onAck(cmid, id) for each acknowledgement; resolves when all are acked or
 * the socket closes. */
function burst(c, user, receiver, start, stopFlag, onAck) {
  return new Promise((resolve) => {
    let next = start;
    let inFlight = 0;
    const pump = () => {
      while (!stopFlag.stop && inFlight < WINDOW && next < PER_CLIENT) {
        const j = next++;
        inFlight++;
        c.send({ action: 'send_message', receiver_id: receiver.id, text: `burst ${user.id}/${j}`, client_message_id: `u${user.id}-m${j}` });
      }
    };
    c.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'new_message' && m.data.message.is_sent && m.data.message.client_message_id) {
        inFlight--;
        onAck(m.data.message.client_message_id, m.data.message.id, m.data.message.text);
        if (inFlight === 0 && (next >= PER_CLIENT || stopFlag.stop)) resolve('done');
        else pump();
      }
    });
    c.closed.then(() => resolve('closed'));
    pump();
  });
}

test(`SIGKILL during ${CLIENTS} clients x ${PER_CLIENT} sends: every acknowledged message is stored exactly once`, async () => {
  const dir = h.tempDir('crash');
  const db = h.dbFor(dir, 'crash'); // the SQLite file, or a PostgreSQL database
  const users = [];
  // users first, with the CLI, as an operator would
  for (let i = 0; i < CLIENTS; i++) users.push(h.addUser(db, `Burst User ${i}`, 'TECHNICIAN'));
  const s1 = await h.startServer({ dir, demo: false, unlimited: true });
  const clients = await Promise.all(users.map((u) => h.connect(s1, { token: u.token, label: u.name })));

  const acked = new Map(); // cmid -> {id, text, sender}
  const stop = { stop: false };
  let killed;
  const onAck = (user) => (cmid, id, text) => {
    const prev = acked.get(cmid);
    if (prev) assert.equal(prev.id, id, `${cmid} acknowledged twice with different ids`);
    acked.set(cmid, { id, text, sender: user.id });
    if (!killed && acked.size >= KILL_AT) {
      killed = s1.stop('SIGKILL');
    }
  };
  const runs = clients.map((c, i) => burst(c, users[i], users[(i + 1) % CLIENTS], 0, stop, onAck(users[i])));
  await h.withTimeout(Promise.all(runs), h.T(30000), 'burst ends (by the kill)');
  assert.ok(killed, 'the server was killed during the burst');
  const exit = await killed;
  assert.equal(exit.signal, 'SIGKILL');
  const ackedCount = acked.size;
  assert.ok(ackedCount >= KILL_AT);

  // what is on disk (the WAL is recovered by sqlite on open)
  if (h.engine === 'sqlite') assert.equal(h.sqlite(db, 'PRAGMA integrity_check').trim(), 'ok');
  const rows = h.dbQuery(db, 'SELECT id, sender_id, client_message_id, text FROM chat_messages ORDER BY id')
    .trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
  const stored = new Map();
  for (const [id, sender, cmid, text] of rows) {
    assert.equal(stored.has(cmid), false, `${cmid} stored twice`);
    stored.set(cmid, { id, sender, text });
  }
  assert.ok(stored.size < CLIENTS * PER_CLIENT, `the kill landed mid-burst (stored ${stored.size})`);
  for (const [cmid, a] of acked) {
    const row = stored.get(cmid);
    assert.ok(row, `acknowledged ${cmid} (id ${a.id}) is missing after kill -9`);
    assert.deepEqual(row, { id: a.id, sender: a.sender, text: a.text }, cmid);
  }
  // unread counters agree with the messages (insert and counter in one transaction)
  const bad = h.dbQuery(db,
    'SELECT rm.room_id, rm.user_id, rm.unread, (SELECT count(*) FROM chat_messages m WHERE m.room_id = rm.room_id AND m.id > rm.last_read AND m.sender_id IS DISTINCT FROM rm.user_id) FROM chat_room_members rm').trim()
    .split('\n').map((l) => l.split('\t')).filter(([, , a, b]) => a !== b);
  assert.deepEqual(bad, [], 'room_members.unread matches the messages after the crash');

  // restart on the same DB; every client reconnects and retries everything
  const s2 = await h.startServer({ dir, demo: false, unlimited: true });
  const clients2 = await Promise.all(users.map((u) => h.connect(s2, { token: u.token, label: `${u.name} again` })));
  const acked2 = new Map();
  const runs2 = clients2.map((c, i) => burst(c, users[i], users[(i + 1) % CLIENTS], 0, { stop: false },
    (cmid, id, text) => acked2.set(cmid, { id, text, sender: users[i].id })));
  await h.withTimeout(Promise.all(runs2), h.T(30000), 'retry burst');
  assert.equal(acked2.size, CLIENTS * PER_CLIENT);
  for (const [cmid, a] of stored) assert.equal(acked2.get(cmid).id, a.id, `retry of stored ${cmid} answers its stored id`);
  const total = h.dbQuery(db, 'SELECT count(*), count(DISTINCT client_message_id) FROM chat_messages').trim();
  assert.equal(total, `${CLIENTS * PER_CLIENT}\t${CLIENTS * PER_CLIENT}`);
  // REST agrees for one room: 200 from each side
  const r = await h.request(s2, `/api/v1/rooms`, { headers: h.bearer(users[0].token) });
  const counts = [];
  for (const room of r.json.rooms) {
    let before = '';
    let n = 0;
    for (;;) {
      const page = await h.request(s2, `/api/v1/rooms/${room.room_id}/messages?limit=200${before}`, { headers: h.bearer(users[0].token) });
      n += page.json.messages.length;
      if (!page.json.has_more) break;
      before = `&before=${page.json.messages.at(-1).id}`;
    }
    counts.push(n);
  }
  assert.deepEqual(counts, [PER_CLIENT, PER_CLIENT], 'user 0 talks to user 1 and hears from user 19');
});
