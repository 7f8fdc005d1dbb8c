// Persistence across a restart on the same DB, missed-message recovery
// (?since=), and idempotent sends (client_message_id).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';

after(h.cleanup);

async function send(c, obj, what = obj.text) {
  const f = c.mark();
  c.send({ action: 'send_message', ...obj });
  const m = await c.waitFor(h.isNewMessage((mm) => mm.text === obj.text || (obj.client_message_id && mm.client_message_id === obj.client_message_id)), { from: f, what });
  return m;
}

async function restState(s, users) {
  const out = {};
  for (const [name, user] of Object.entries(users)) {
    const rooms = await h.request(s, '/api/v1/rooms', { headers: h.bearer(user.token) });
    assert.equal(rooms.status, 200);
    out[name] = { rooms: rooms.json, history: {} };
    for (const r of rooms.json.rooms) {
      const hist = await h.request(s, `/api/v1/rooms/${r.room_id}/messages?limit=200`, { headers: h.bearer(user.token) });
      assert.equal(hist.status, 200);
      out[name].history[r.room_id] = hist.json;
    }
  }
  return out;
}

test('rooms, messages, unread counts and history survive a restart', async () => {
  const s1 = await h.startServer({ tag: 'persist' });
  const u = s1.users;
  const tokensFile = fs.readFileSync(path.join(s1.dir, 'demo-tokens.txt'), 'utf8');
  const alice = await h.login(s1, u.alice, 'alice');
  const bob = await h.login(s1, u.bob, 'bob');
  const carol = await h.login(s1, u.carol, 'carol');
  const first = await send(alice, { receiver_id: u.bob.id, text: 'a0' });
  const room = first.data.room_id;
  const ids = [first.data.message.id];
  for (let i = 1; i < 5; i++) ids.push((await send(alice, { room_id: room, text: `a${i}`, file_id: i === 2 ? 'f-2' : undefined })).data.message.id);
  await send(bob, { room_id: room, text: 'b0', replied_to_id: ids[1] });
  await send(carol, { room_id: '1', text: 'service note' });
  bob.send({ action: 'mark_read', message_id: ids[2] });
  await bob.waitFor((m) => m.type === 'unread_message_count' && m.data.unread_count === 2);
  bob.send({ action: 'mark_delivered', message_id: ids[4] });
  await alice.waitFor((m) => m.type === 'message_status' && m.data.message_id === ids[4]);
  const before = await restState(s1, u);
  assert.equal(before.bob.rooms.rooms.find((r) => r.room_id === room).unread_messages_count, 2);
  assert.equal(before.alice.rooms.rooms.find((r) => r.room_id === room).unread_messages_count, 1);
  assert.equal(before.alice.rooms.rooms.find((r) => r.room_id === '1').unread_messages_count, 1);
  assert.equal(before.bob.history[room].messages.length, 6);

  assert.deepEqual(await s1.stop('SIGTERM'), { code: 0, signal: null }, 'a clean stop');
  const s2 = await h.startServer({ dir: s1.dir });
  assert.equal(fs.readFileSync(path.join(s1.dir, 'demo-tokens.txt'), 'utf8'), tokensFile, 'the demo is not seeded again');
  assert.equal(s2.stdout, '', 'no demo tokens printed on a second start');
  assert.deepEqual(await restState(s2, u), before, 'REST sees exactly what it saw before the restart');

  // the old tokens work, the rooms go on where they were
  const alice2 = await h.login(s2, u.alice, 'alice');
  const bob2 = await h.login(s2, u.bob, 'bob');
  const r = await bob2.ask({ action: 'new_room', room_id: room }, h.isType('new_room'));
  assert.deepEqual(r.data, before.bob.rooms.rooms.find((x) => x.room_id === room));
  const next = await send(alice2, { room_id: room, text: 'after restart' });
  assert.ok(Number(next.data.message.id) > Math.max(...ids.map(Number)), 'ids keep growing');
  const c = await bob2.waitFor(h.isType('unread_message_count'));
  assert.deepEqual(c.data, { room_id: room, unread_count: 3 }, 'the unread count goes on from 2');
  // the watermark survived too: reading an old message does not raise the count
  bob2.send({ action: 'mark_read', message_id: ids[0] });
  const c2 = await bob2.waitFor((m) => m.type === 'unread_message_count' && m !== c);
  assert.equal(c2.data.unread_count, 3);
  // the status survived: delivered again sends nothing, read sends read
  bob2.send({ action: 'mark_delivered', message_id: ids[4] });
  bob2.send({ action: 'mark_read', message_id: ids[4] });
  const st = await alice2.waitFor((m) => m.type === 'message_status' && m.data.message_id === ids[4]);
  assert.deepEqual(st.data, { service_id: null, message_id: ids[4], status: 'read' });
  await alice2.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.equal(alice2.count((m) => m.type === 'message_status' && m.data.message_id === ids[4]), 1, 'no second "delivered" for ids[4]');
});

test('?since=<last id seen> replays the newer messages of the user\'s rooms, oldest first', async () => {
  const s = await h.startServer({ tag: 'since' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const bob = await h.login(s, u.bob, 'bob');
  const bobPhone = await h.login(s, u.bob, 'bob-phone');
  const first = await send(alice, { receiver_id: u.bob.id, text: 'seen' });
  const room = first.data.room_id;
  await bob.waitFor(h.isNewMessage((m) => m.text === 'seen'));
  const last = first.data.message.id;
  bob.close();
  await bob.waitClose();

  // while bob's laptop is away: alice writes, bob writes from his phone,
  // and there is traffic in rooms bob is not in
  const expected = [];
  for (let i = 0; i < 5; i++) expected.push((await send(alice, { room_id: room, text: `missed ${i}` })).data.message);
  expected.push((await send(bobPhone, { room_id: room, text: 'from the phone', client_message_id: 'phone-1' })).data.message);
  await send(alice, { room_id: '1', text: 'service room, not bob\'s' });
  await send(alice, { receiver_id: u.dan.id, text: 'to dan, not bob' });
  expected.push((await send(alice, { room_id: room, text: 'missed 5' })).data.message);

  const back = await h.connect(s, { token: u.bob.token, query: `since=${last}`, label: 'bob back' });
  const replayed = await back.waitForN(h.isType('new_message'), expected.length, { what: 'replay' });
  const fence = await back.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.equal(back.messages.indexOf(fence), expected.length, 'the replay comes first and holds nothing else');
  assert.deepEqual(replayed.map((m) => m.data.message.text), expected.map((m) => m.text), 'oldest first');
  for (const m of replayed) {
    assert.equal(m.data.room_id, room);
    assert.equal(m.data.service_id, null);
    const sent = expected.find((e) => e.id === m.data.message.id);
    const own = m.data.message.text === 'from the phone';
    assert.equal(m.data.message.is_sent, own, 'is_sent as bob sees it');
    assert.deepEqual(m.data.message.sender, h.senderOf(own ? u.bob : u.alice));
    assert.equal(m.data.message.timestamp, sent.timestamp);
    if (own) assert.equal(m.data.message.client_message_id, 'phone-1');
    else assert.equal('client_message_id' in m.data.message, false);
  }
  // the byte form of a replayed message is the live one's
  const liveRaw = bobPhone.raw[bobPhone.messages.findIndex(h.isNewMessage((m) => m.text === 'missed 0'))];
  assert.equal(back.raw[0], liveRaw);

  // live messages follow the replay
  await send(alice, { room_id: room, text: 'live' });
  await back.waitFor(h.isNewMessage((m) => m.text === 'live'));

  // since=0: everything of bob's rooms; since past the newest: nothing
  const all = await h.connect(s, { token: u.bob.token, query: 'since=0', label: 'bob all' });
  await all.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.deepEqual(all.messages.filter(h.isType('new_message')).map((m) => m.data.message.text),
    ['seen', ...expected.map((m) => m.text), 'live']);
  const none = await h.connect(s, { token: u.bob.token, query: 'since=999999999', label: 'bob none' });
  await none.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.deepEqual(none.messages.map((m) => m.type), ['heartbeat_response']);
  // the same through a Bearer header
  const viaHeader = await h.connect(s, { token: u.bob.token, bearer: true, query: `since=${last}`, label: 'bob bearer' });
  await viaHeader.waitForN(h.isType('new_message'), expected.length + 1);
});

test('?since= replays at most 1000 messages, the oldest first', async () => {
  const s = await h.startServer({ tag: 'since-limit', unlimited: true });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const n = 1005;
  for (let i = 0; i < n; i++) alice.send({ action: 'send_message', room_id: '1', text: `n${i}` });
  await alice.waitForN(h.isType('new_message'), n, { ms: h.T(20000) });
  const carol = await h.connect(s, { token: u.carol.token, query: 'since=0', label: 'carol' });
  // the replay comes in batches as the queue drains: wait for all of it,
  // then make sure nothing more follows
  await carol.waitForN(h.isType('new_message'), 1000, { ms: h.T(20000) });
  await h.sleep(h.T(200));
  await carol.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  const got = carol.messages.filter(h.isType('new_message')).map((m) => m.data.message.text);
  assert.equal(got.length, 1000);
  assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => `n${i}`));
});

test('idempotent send: the same client_message_id twice is stored and delivered once', async () => {
  const s = await h.startServer({ tag: 'idem' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const aliceTab = await h.login(s, u.alice, 'alice-tab');
  const bob = await h.login(s, u.bob, 'bob');
  const room = (await send(alice, { receiver_id: u.bob.id, text: 'open' })).data.room_id;
  await bob.waitFor(h.isNewMessage((m) => m.text === 'open'));

  // twice back to back (most likely in one server turn)
  const f = alice.mark();
  const msg = { action: 'send_message', room_id: room, text: 'only once', client_message_id: 'idem-1' };
  alice.send(msg);
  alice.send(msg);
  const answers = await alice.waitForN(h.isType('new_message'), 2, { from: f });
  assert.equal(answers[0].data.message.id, answers[1].data.message.id, 'the same id both times');
  for (const a of answers) {
    assert.equal(a.data.message.is_sent, true);
    assert.equal(a.data.message.client_message_id, 'idem-1');
    assert.equal(a.data.message.text, 'only once');
  }
  assert.equal(alice.raw[alice.messages.indexOf(answers[0])], alice.raw[alice.messages.indexOf(answers[1])], 'the same bytes both times');
  const id = answers[0].data.message.id;

  // later, after a "reconnect", from another device, with a different text: still the stored one
  const phone = await h.login(s, u.alice, 'alice-phone');
  const again = await phone.ask({ ...msg, text: 'changed on retry' }, h.isType('new_message'));
  assert.equal(again.data.message.id, id);
  assert.equal(again.data.message.text, 'only once', 'the stored message, not the retry\'s text');

  // fences: nobody else heard of the retries
  for (const c of [bob, aliceTab, alice]) await c.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  assert.equal(bob.count(h.isNewMessage((m) => m.id === id)), 1, 'the recipient got it once');
  assert.equal(bob.count((m) => m.type === 'unread_message_count' && m.data.room_id === room), 2, 'one unread bump for "open", one for the message');
  assert.equal(aliceTab.count(h.isNewMessage((m) => m.id === id)), 1, 'the sender\'s other device got it once');
  assert.equal(alice.count(h.isNewMessage((m) => m.id === id)), 2, 'the sending connection: one answer per send');

  // another user may use the same client_message_id: a different message
  const b = await send(bob, { room_id: room, text: 'bob\'s idem-1', client_message_id: 'idem-1' });
  assert.notEqual(b.data.message.id, id);

  // one row in the database
  assert.equal(h.dbQuery(s, "SELECT count(*) FROM chat_messages WHERE client_message_id = 'idem-1' AND sender_id = 1").trim(), '1');
  const hist = await h.request(s, `/api/v1/rooms/${room}/messages`, { headers: h.bearer(u.bob.token) });
  assert.deepEqual(hist.json.messages.map((m) => m.text), ['bob\'s idem-1', 'only once', 'open']);

  // and after a restart the retry still finds it
  assert.deepEqual(await s.stop('SIGTERM'), { code: 0, signal: null }, 'a clean stop');
  const s2 = await h.startServer({ dir: s.dir });
  const alice2 = await h.login(s2, u.alice, 'alice');
  const r = await alice2.ask(msg, h.isType('new_message'));
  assert.equal(r.data.message.id, id);
  assert.equal(h.dbQuery(s2, "SELECT count(*) FROM chat_messages WHERE client_message_id = 'idem-1' AND sender_id = 1").trim(), '1');
});
