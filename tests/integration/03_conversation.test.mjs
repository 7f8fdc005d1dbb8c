// A two-user conversation with a second device for one user, and a third
// user who must see nothing of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

let s, tom, ann, eve;

before(async () => {
  s = await h.startServer({ tag: 'conv', demo: false });
  tom = h.addUser(s.db, 'Tom Tech', 'TECHNICIAN', 'https://example.com/tom.png');
  ann = h.addUser(s.db, 'Ann Admin', 'ADMIN');
  eve = h.addUser(s.db, 'Eve Outsider', 'SUPER_ADMIN');
});
after(h.cleanup);

test('two users, three devices: every message reaches every connection, once, in order; a third user sees nothing', async () => {
  const tom1 = await h.login(s, tom, 'tom1');
  const tom2 = await h.login(s, tom, 'tom2');
  const ann1 = await h.login(s, ann, 'ann1');
  const eve1 = await h.login(s, eve, 'eve1');
  const eveMark = eve1.mark();

  // Tom opens the conversation from device 1
  tom1.send({ action: 'send_message', receiver_id: ann.id, text: 'm0', client_message_id: 'tom1-m0' });
  const opened = await tom2.waitFor(h.isType('new_room'));
  const room = opened.data.room_id;
  assert.deepEqual(opened.data.counterpart, { user_id: ann.id, full_name: 'Ann Admin', avatar: null, role: 'ADMIN' });
  const annRoom = await ann1.waitFor(h.isType('new_room'));
  assert.deepEqual(annRoom.data.counterpart, { user_id: tom.id, full_name: 'Tom Tech', avatar: 'https://example.com/tom.png', role: 'TECHNICIAN' });
  assert.equal(annRoom.data.unread_messages_count, 1);

  // then they talk: tom from both devices, ann from her one
  const script = [];
  for (let i = 1; i <= 30; i++) {
    const who = i % 3 === 0 ? 'ann' : i % 3 === 1 ? 'tom1' : 'tom2';
    script.push({ who, text: `m${i}` });
  }
  const conn = { tom1, tom2, ann: ann1 };
  for (const { who, text } of script) {
    const c = conn[who];
    const f = c.mark();
    c.send({ action: 'send_message', room_id: room, text, client_message_id: `${who}-${text}` });
    await c.waitFor(h.isNewMessage((m) => m.text === text), { from: f, what: text });
  }
  const texts = ['m0', ...script.map((x) => x.text)];
  const senderOf = (text) => (text === 'm0' ? 'tom1' : script.find((x) => x.text === text).who);
  const userOf = (who) => (who === 'ann' ? ann : tom);

  for (const [name, c, me] of [['tom1', tom1, tom], ['tom2', tom2, tom], ['ann', ann1, ann]]) {
    const msgs = await c.waitForN(h.isType('new_message'), texts.length, { what: `${name}: all messages` });
    assert.deepEqual(msgs.map((m) => m.data.message.text), texts, `${name}: every message once, in order`);
    const ids = msgs.map((m) => Number(m.data.message.id));
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ids grow');
    for (const m of msgs) {
      const who = senderOf(m.data.message.text);
      const sender = userOf(who);
      assert.equal(m.data.room_id, room);
      assert.equal(m.data.service_id, null);
      assert.equal(m.data.message.is_sent, sender === me, `${name}: is_sent of ${m.data.message.text}`);
      assert.deepEqual(m.data.message.sender, { id: sender.id, full_name: sender.name, avatar: sender.avatar, role: sender.role });
      if (sender === me) assert.equal(m.data.message.client_message_id, `${who}-${m.data.message.text}`, 'the sender\'s devices see its client_message_id');
      else assert.equal('client_message_id' in m.data.message, false);
    }
  }
  // unread counts: to ann for tom's messages (counting up), to tom (both devices) for ann's
  // (each count follows its message: wait for them, they may still be on the way)
  const annCounts = (await ann1.waitForN(h.isType('unread_message_count'), 21, { what: 'ann: 21 counts' })).map((m) => m.data.unread_count);
  assert.deepEqual(annCounts, Array.from({ length: 21 }, (_, i) => i + 1), 'ann: one more per message from tom');
  for (const c of [tom1, tom2]) {
    const counts = (await c.waitForN(h.isType('unread_message_count'), 10, { what: `${c.label}: 10 counts` })).map((m) => m.data.unread_count);
    assert.deepEqual(counts, Array.from({ length: 10 }, (_, i) => i + 1), `${c.label}: one more per message from ann`);
  }

  // ann reads up to the last one: tom's devices get message_status for it
  const last = ann1.messages.filter(h.isType('new_message')).at(-1).data.message;
  const lastFromTom = ann1.messages.filter(h.isNewMessage((m) => !m.is_sent)).at(-1).data.message;
  if (lastFromTom.id !== last.id) {
    // the last message is ann's own: marking it sends no status, moves no
    // watermark, and answers her unread count unchanged (docs/decisions.md)
    const before = ann1.mark();
    ann1.send({ action: 'mark_read', message_id: last.id });
    const same = await ann1.waitFor(h.isType('unread_message_count'), { from: before });
    assert.deepEqual(same.data, { room_id: room, unread_count: 21 });
  }
  ann1.send({ action: 'mark_read', message_id: lastFromTom.id });
  const zero = await ann1.waitFor((m) => m.type === 'unread_message_count' && m.data.unread_count === 0);
  assert.equal(zero.data.room_id, room);
  for (const c of [tom1, tom2]) await c.waitFor((m) => m.type === 'message_status' && m.data.message_id === lastFromTom.id && m.data.status === 'read');
  if (lastFromTom.id !== last.id) {
    for (const c of [tom1, tom2]) assert.equal(c.count((m) => m.type === 'message_status' && m.data.message_id === last.id), 0);
  }

  // a device that connects later sees the room with ann's view of it
  const rooms = await h.request(s, '/api/v1/rooms', { headers: h.bearer(ann.token) });
  assert.equal(rooms.json.rooms.length, 1);
  assert.equal(rooms.json.rooms[0].unread_messages_count, 0);
  assert.equal(rooms.json.rooms[0].last_message.text, 'm30');

  // Eve: nothing arrived, REST shows nothing, and she cannot reach the room
  const fence = eve1.mark();
  eve1.send({ action: 'heartbeat' });
  await eve1.waitFor(h.isType('heartbeat_response'), { from: fence });
  assert.deepEqual(eve1.messages.slice(eveMark).map((m) => m.type), ['heartbeat_response']);
  const eveRooms = await h.request(s, '/api/v1/rooms', { headers: h.bearer(eve.token) });
  assert.deepEqual(eveRooms.json, { rooms: [] });
  const hist = await h.request(s, `/api/v1/rooms/${room}/messages`, { headers: h.bearer(eve.token) });
  assert.equal(hist.status, 404);
  assert.deepEqual(hist.json, { error: 'Room not found' });
  const e = await eve1.ask({ action: 'send_message', room_id: room, text: 'let me in' });
  assert.equal(e.error, 'Room not found');
  const e2 = await eve1.ask({ action: 'mark_read', message_id: last.id });
  assert.equal(e2.error, 'Message or room not found');
  const replay = await h.connect(s, { token: eve.token, query: 'since=0', label: 'eve replay' });
  await replay.ask({ action: 'heartbeat' });
  assert.deepEqual(replay.messages.map((m) => m.type), ['heartbeat_response'], 'replay since=0 shows eve nothing');
  // and her attempts reached nobody
  await h.sleep(50);
  for (const c of [tom1, tom2, ann1]) assert.equal(c.count(h.isNewMessage((m) => m.text === 'let me in')), 0);
});

test('a device that disconnects stops receiving, the other devices keep receiving', async () => {
  const before = (await h.metrics(s))['switchboard_connections'];
  const tom1 = await h.login(s, tom, 'tom1b');
  const tom2 = await h.login(s, tom, 'tom2b');
  const ann1 = await h.login(s, ann, 'ann1b');
  tom2.close();
  await tom2.waitClose();
  const f = tom1.mark();
  ann1.send({ action: 'send_message', receiver_id: tom.id, text: 'after close' });
  const m = await tom1.waitFor(h.isNewMessage((mm) => mm.text === 'after close'), { from: f });
  assert.equal(m.data.message.is_sent, false);
  const hb = await ann1.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.ok(hb);
  await h.until(async () => (await h.metrics(s))['switchboard_connections'] === before + 2, h.T(3000), 'gauge: the closed device is gone');
});
