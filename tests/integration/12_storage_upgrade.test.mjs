// The storage seam, end to end: a database left by the binary before the
// chat_ table prefix is upgraded in place by `switchboard serve` and served
// with every row; user IDs past 2^31 (here 2^40) log in, send and receive,
// rendered as their exact decimal strings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import * as h from './harness.mjs';

after(h.cleanup);

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const BIG = '1099511627776'; // 2^40

// Migration 1 of the chat as released before the prefix, verbatim, and the
// migrations table as that binary kept it: what an existing database holds.
const OLD_SCHEMA_V1 = `
CREATE TABLE sb_migrations(module TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE users(  id INTEGER PRIMARY KEY,  full_name TEXT NOT NULL,  avatar TEXT,  role TEXT NOT NULL,  token_hash TEXT NOT NULL UNIQUE,  created_at INTEGER NOT NULL);
CREATE TABLE services(  id INTEGER PRIMARY KEY,  created_at TEXT NOT NULL,  status TEXT NOT NULL,  customer_full_name TEXT,  customer_phone TEXT,  customer_address TEXT);
CREATE TABLE rooms(  id INTEGER PRIMARY KEY,  type TEXT NOT NULL,  service_id INTEGER REFERENCES services(id),  direct_key TEXT UNIQUE,  created_at INTEGER NOT NULL);
CREATE TABLE room_members(  room_id INTEGER NOT NULL REFERENCES rooms(id),  user_id INTEGER NOT NULL REFERENCES users(id),  last_read INTEGER NOT NULL DEFAULT 0,  unread INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),  PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;
CREATE INDEX room_members_by_user ON room_members(user_id, room_id);
CREATE TABLE messages(  id INTEGER PRIMARY KEY,  room_id INTEGER NOT NULL REFERENCES rooms(id),  sender_id INTEGER REFERENCES users(id),  text TEXT,  file_id TEXT,  replied_to INTEGER,  is_system INTEGER NOT NULL DEFAULT 0,  created_at INTEGER NOT NULL,  client_message_id TEXT);
CREATE INDEX messages_by_room ON messages(room_id, id);
CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_message_id)  WHERE client_message_id IS NOT NULL;
CREATE TABLE message_status(  message_id INTEGER NOT NULL,  user_id INTEGER NOT NULL,  status INTEGER NOT NULL,  PRIMARY KEY (message_id, user_id)) WITHOUT ROWID;
INSERT INTO sb_migrations VALUES('chat', 1);
`;

const users = {
  alice: { id: '1', name: 'Alice Old', role: 'TECHNICIAN', avatar: 'https://x/a.png', token: 'old-alice-token' },
  carol: { id: '2', name: 'Carol Old', role: 'ADMIN', avatar: null, token: 'old-carol-token' },
  big: { id: BIG, name: 'Big Old', role: 'SUPER_ADMIN', avatar: null, token: 'old-big-token' },
};

const OLD_ROWS = `
INSERT INTO users VALUES(1, 'Alice Old', 'https://x/a.png', 'TECHNICIAN', '${sha256(users.alice.token)}', 1700000000);
INSERT INTO users VALUES(2, 'Carol Old', NULL, 'ADMIN', '${sha256(users.carol.token)}', 1700000001);
INSERT INTO users VALUES(${BIG}, 'Big Old', NULL, 'SUPER_ADMIN', '${sha256(users.big.token)}', 1700000002);
INSERT INTO services VALUES(7, '2026-01-02T03:04:05Z', 'IN_PROGRESS', 'Maria Rivera', '+1 555 0100', '12 Harbour Street');
INSERT INTO rooms VALUES(1, 'SERVICE', 7, NULL, 1700000010);
INSERT INTO rooms VALUES(2, 'TECHNICIAN_DIRECT', NULL, '1:${BIG}', 1700000011);
INSERT INTO room_members VALUES(1, 1, 10, 1), (1, 2, 11, 1), (2, 1, 0, 1), (2, ${BIG}, 0, 0);
INSERT INTO messages VALUES(10, 1, 1, 'hello', NULL, NULL, 0, 1700000100, 'c-1');
INSERT INTO messages VALUES(11, 1, 2, 'reply', 'file-9', 10, 0, 1700000101, NULL);
INSERT INTO messages VALUES(12, 2, ${BIG}, 'big says hi', NULL, NULL, 0, 1700000102, 'c-2');
INSERT INTO messages VALUES(13, 1, NULL, 'system note', NULL, NULL, 1, 1700000103, NULL);
INSERT INTO message_status VALUES(10, 2, 2), (12, 1, 1);
`;

const sender = (u) => h.senderOf(u);

test('serve upgrades a database made before the chat_ prefix and serves every row', async (t) => {
  if (h.sqliteOnly(t, 'the SQLite schema history')) return;
  const dir = h.tempDir('upgrade');
  const db = path.join(dir, 'chat.db');
  h.sqlite(db, 'PRAGMA journal_mode=WAL;' + OLD_SCHEMA_V1 + OLD_ROWS);

  const s = await h.startServer({ dir, demo: false });
  assert.match(s.stderr, /event=migrated module=chat version=2\b/);
  assert.match(s.stderr, /event=migrated module=chat version=3\b/);
  assert.doesNotMatch(s.stderr, /event=migrated module=chat version=1\b/, 'step 1 is not run again');
  assert.equal(h.sqlite(db, "SELECT version FROM sb_migrations WHERE module = 'chat'").trim(), '3');
  // the old tables are gone, renamed; the other modules' are beside them
  assert.equal(h.sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'core_%' AND name NOT LIKE 'realtime_%' AND name NOT LIKE 'therapy_%' AND name NOT LIKE 'dashboard_%' AND name != 'sqlite_sequence' ORDER BY name").trim().split('\n').join(' '),
    'chat_access_tokens chat_message_status chat_messages chat_room_members chat_rooms chat_services chat_users sb_migrations');

  // the rooms, their unread counters and last messages, over REST
  const rooms = await h.request(s, '/api/v1/rooms', { headers: h.bearer(users.alice.token) });
  assert.equal(rooms.status, 200);
  assert.deepEqual(rooms.json.rooms.map((r) => [r.room_id, r.type, r.unread_messages_count]),
    [['1', 'SERVICE', 1], ['2', 'TECHNICIAN_DIRECT', 1]]);
  const direct = rooms.json.rooms[1];
  assert.equal(direct.counterpart.user_id, BIG);
  assert.equal(direct.counterpart.full_name, 'Big Old');
  assert.match(rooms.text, new RegExp(`"user_id":"${BIG}"`), 'the exact decimal string');
  assert.equal(rooms.json.rooms[0].service.status, 'IN_PROGRESS');

  // the history, newest first, every field as stored
  const hist = await h.request(s, '/api/v1/rooms/1/messages', { headers: h.bearer(users.carol.token) });
  assert.equal(hist.status, 200);
  assert.deepEqual(hist.json.messages.map((m) => [m.id, m.text, m.file_id, m.replied_from_id, m.is_system_message, m.timestamp]), [
    ['13', 'system note', null, null, true, 1700000103],
    ['11', 'reply', 'file-9', '10', false, 1700000101],
    ['10', 'hello', null, null, false, 1700000100],
  ]);
  assert.deepEqual(hist.json.messages[1].sender, sender(users.carol));
  assert.deepEqual(hist.json.messages[2].sender, sender(users.alice));
  assert.equal(hist.json.messages[1].is_sent, true, 'carol asked: her own message');
  const bigHist = await h.request(s, '/api/v1/rooms/2/messages', { headers: h.bearer(users.big.token) });
  assert.equal(bigHist.status, 200);
  assert.deepEqual(bigHist.json.messages.map((m) => [m.id, m.text, m.sender.id]), [['12', 'big says hi', BIG]]);

  // the old tokens log in; the replay and the statuses go on from the old rows
  const big = await h.connect(s, { token: users.big.token, query: 'since=0', label: 'big' });
  const replayed = await big.waitFor(h.isType('new_message'));
  assert.equal(replayed.data.message.id, '12');
  assert.equal(replayed.data.message.client_message_id, 'c-2');
  const alice = await h.login(s, users.alice, 'alice');
  // a retry of an old client_message_id finds the old message
  const retry = await alice.ask({ action: 'send_message', room_id: '1', text: 'retry', client_message_id: 'c-1' }, h.isType('new_message'));
  assert.equal(retry.data.message.id, '10');
  assert.equal(retry.data.message.text, 'hello');
  const sent = await alice.ask({ action: 'send_message', room_id: '2', text: 'after the upgrade' }, h.isType('new_message'));
  assert.equal(sent.data.message.id, '14', 'IDs go on from the old rows');
  await big.waitFor(h.isNewMessage((m) => m.text === 'after the upgrade'));
  const count = await big.waitFor(h.isType('unread_message_count'));
  assert.deepEqual(count.data, { room_id: '2', unread_count: 1 });
  // delivered was stored for message 12: read now changes it, delivered would not
  alice.send({ action: 'mark_delivered', message_id: '12' });
  alice.send({ action: 'mark_read', message_id: '12' });
  const st = await big.waitFor(h.isType('message_status'));
  assert.deepEqual(st.data, { service_id: null, message_id: '12', status: 'read' });
  await big.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.equal(big.count(h.isType('message_status')), 1);
  assert.deepEqual(await s.stop('SIGTERM'), { code: 0, signal: null });
});

test('a user whose ID is 2^40 logs in over the WebSocket, sends and receives; IDs stay exact', async (t) => {
  if (h.sqliteOnly(t, 'the next rowid after the largest (PostgreSQL identities do not jump)')) return;
  const dir = h.tempDir('bigid');
  const db = path.join(dir, 'chat.db');
  const small = h.addUser(db, 'Small User', 'TECHNICIAN');
  assert.equal(small.id, '1');
  const bigUser = { id: BIG, name: 'Big User', role: 'ADMIN', avatar: null, token: 'big-user-token' };
  h.sqlite(db, `INSERT INTO chat_users(id, full_name, avatar, role, token_hash, created_at)
                VALUES(${BIG}, 'Big User', NULL, 'ADMIN', '${sha256(bigUser.token)}', 1700000000)`);
  // the next ID SQLite picks is past 2^40: `user add` prints it exactly
  const next = h.addUser(db, 'Next User', 'TECHNICIAN');
  assert.equal(next.id, '1099511627777');

  const s = await h.startServer({ dir, demo: false });
  const big = await h.login(s, bigUser, 'big');
  const smallC = await h.login(s, small, 'small');
  const nextC = await h.login(s, next, 'next');

  // big writes to small: both see big's exact ID
  const f = smallC.mark();
  const mine = await big.ask({ action: 'send_message', receiver_id: small.id, text: 'from 2^40' }, h.isType('new_message'));
  assert.equal(mine.data.message.is_sent, true);
  assert.deepEqual(mine.data.message.sender, h.senderOf(bigUser));
  const room = mine.data.room_id;
  const got = await smallC.waitFor(h.isNewMessage((m) => m.text === 'from 2^40'), { from: f });
  assert.equal(got.data.message.is_sent, false);
  assert.equal(got.data.room_id, room);
  assert.match(smallC.raw[smallC.messages.indexOf(got)], new RegExp(`"sender":\\{"id":"${BIG}"`));
  const nr = await smallC.waitFor(h.isType('new_room'), { from: f });
  assert.equal(nr.data.counterpart.user_id, BIG);

  // small answers by the big receiver_id: the same direct room
  const back = await smallC.ask({ action: 'send_message', receiver_id: BIG, text: 'to 2^40' }, h.isType('new_message'));
  assert.equal(back.data.room_id, room);
  const heard = await big.waitFor(h.isNewMessage((m) => m.text === 'to 2^40'));
  assert.deepEqual(heard.data.message.sender, h.senderOf(small));

  // read receipts name the big user's message; the sender of 2^40 + 1 is not
  // mistaken for user 1 (an int would have cut it to 1)
  big.send({ action: 'mark_read', message_id: heard.data.message.id });
  const rs = await smallC.waitFor(h.isType('message_status'));
  assert.deepEqual(rs.data, { service_id: null, message_id: heard.data.message.id, status: 'read' });
  const fromNext = await nextC.ask({ action: 'send_message', receiver_id: BIG, text: 'from 2^40 + 1' }, h.isType('new_message'));
  assert.deepEqual(fromNext.data.message.sender, h.senderOf(next));
  assert.notEqual(fromNext.data.room_id, room);
  const big2 = await big.waitFor(h.isNewMessage((m) => m.text === 'from 2^40 + 1'));
  assert.equal(big2.data.message.sender.id, '1099511627777');

  // REST: the same IDs
  const rooms = await h.request(s, '/api/v1/rooms', { headers: h.bearer(bigUser.token) });
  assert.equal(rooms.status, 200);
  assert.deepEqual(rooms.json.rooms.map((r) => r.counterpart.user_id).sort(), ['1', '1099511627777']);
  const hist = await h.request(s, `/api/v1/rooms/${room}/messages`, { headers: h.bearer(bigUser.token) });
  assert.deepEqual(hist.json.messages.map((m) => [m.text, m.sender.id]), [['to 2^40', '1'], ['from 2^40', BIG]]);
  assert.equal(h.sqlite(db, `SELECT count(*) FROM chat_messages WHERE sender_id = ${BIG}`).trim(), '1');
});
