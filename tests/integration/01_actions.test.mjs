// Every action of seed 003 and its reply, field by field and byte by byte
// (the writer emits fields in schema/chat.lua order, so the expected frames are
// built in that order and compared as text).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

let s, u;
let alice, alice2, bob, carol, dan;

before(async () => {
  s = await h.startServer({ tag: 'actions' });
  u = s.users;
  alice = await h.login(s, u.alice, 'alice');
  alice2 = await h.login(s, u.alice, 'alice2');
  bob = await h.login(s, u.bob, 'bob');
  carol = await h.login(s, u.carol, 'carol');
  dan = await h.login(s, u.dan, 'dan');
});
after(h.cleanup);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const now = () => Math.floor(Date.now() / 1000);

/** The new_message frame, exactly as schema/chat.lua orders it. */
function newMessageFrame({ room_id, service_id = null, id, is_sent, text = null, file_id = null,
  replied_from_id = null, timestamp, sender, client_message_id }) {
  const message = { id, is_sent, text, file_id, replied_from_id, is_system_message: false, timestamp, sender };
  if (client_message_id !== undefined) message.client_message_id = client_message_id;
  return JSON.stringify({ type: 'new_message', data: { room_id, service_id, message } });
}

/** Wait until `c` has answered a heartbeat sent now: everything sent to it
 * before has arrived (a connection gets its answers in order). */
async function fence(c) {
  const from = c.mark();
  c.send({ action: 'heartbeat' });
  await c.waitFor(h.isType('heartbeat_response'), { from, what: 'fence' });
  return c.messages.slice(from, c.messages.length - 1);
}

/** the raw text of the message object m in client c */
const rawOf = (c, m) => c.raw[c.messages.indexOf(m)];

test('heartbeat: heartbeat_response with status and data.status, to the asking connection only', async () => {
  const from2 = alice2.mark();
  const from = alice.mark();
  alice.send({ action: 'heartbeat' });
  const m = await alice.waitFor(() => true, { from });
  assert.equal(rawOf(alice, m), '{"type":"heartbeat_response","status":"ok","data":{"status":"ok"}}');
  assert.deepEqual(await fence(alice2), [], 'the other device of the same user gets nothing');
  assert.equal(alice2.messages.slice(from2).filter(h.isType('heartbeat_response')).length, 1);
});

test('send_message to a service room: new_message to every member, unread_message_count to the others', async () => {
  const t0 = now();
  // The document's own input example: room_id wins over receiver_id; service_id is not used.
  const fa = alice.mark(); const fa2 = alice2.mark(); const fc = carol.mark();
  alice.send('{"action": "send_message", "room_id": "1", "service_id": "456", "receiver_id": "789", "text": "Hello, how are you?", "file_id": null, "replied_to_id": null}');
  const mine = await alice.waitFor(h.isType('new_message'), { from: fa });
  const id = mine.data.message.id;
  const ts = mine.data.message.timestamp;
  assert.match(id, /^[1-9]\d*$/);
  assert.ok(Number.isInteger(ts) && ts >= t0 && ts <= now() + 1, `timestamp ${ts} is Unix seconds of now`);
  const base = { room_id: '1', service_id: '1', id, text: 'Hello, how are you?', timestamp: ts, sender: h.senderOf(u.alice) };
  assert.equal(rawOf(alice, mine), newMessageFrame({ ...base, is_sent: true }));
  const other = await alice2.waitFor(h.isType('new_message'), { from: fa2 });
  assert.equal(rawOf(alice2, other), newMessageFrame({ ...base, is_sent: true }), 'sender\'s second device: is_sent true');
  const theirs = await carol.waitFor(h.isType('new_message'), { from: fc });
  assert.equal(rawOf(carol, theirs), newMessageFrame({ ...base, is_sent: false }));
  const unread = await carol.waitFor(h.isType('unread_message_count'), { from: fc });
  assert.equal(rawOf(carol, unread), '{"type":"unread_message_count","data":{"room_id":"1","unread_count":1}}');
  // unread_message_count comes after the message it counts
  assert.ok(carol.messages.indexOf(unread) > carol.messages.indexOf(theirs));
  // the sender gets no unread count for its own message; Bob and Dan are not members
  const extra = [...await fence(alice), ...await fence(bob), ...await fence(dan)];
  assert.deepEqual(extra, [], 'nothing more for alice; nothing at all for bob and dan');
  assert.deepEqual(alice.messages.slice(fa).filter((m) => m.type !== 'heartbeat_response').map((m) => m.type), ['new_message'],
    'the sender gets its own copy and no unread count');
});

test('send_message with client_message_id: echoed to the sender only', async () => {
  const fa = alice.mark(); const fc = carol.mark();
  alice.send({ action: 'send_message', room_id: '1', text: 'with cmid', client_message_id: 'act-1' });
  const mine = await alice.waitFor(h.isNewMessage((m) => m.text === 'with cmid'), { from: fa });
  assert.equal(mine.data.message.client_message_id, 'act-1');
  assert.equal(rawOf(alice, mine), newMessageFrame({
    room_id: '1', service_id: '1', id: mine.data.message.id, is_sent: true, text: 'with cmid',
    timestamp: mine.data.message.timestamp, sender: h.senderOf(u.alice), client_message_id: 'act-1',
  }));
  const theirs = await carol.waitFor(h.isNewMessage((m) => m.text === 'with cmid'), { from: fc });
  assert.equal('client_message_id' in theirs.data.message, false, 'recipients do not see the sender\'s client_message_id');
});

test('send_message with receiver_id: the direct room is created, new_room to both sides first', async () => {
  const fa = alice.mark(); const fa2 = alice2.mark(); const fb = bob.mark();
  alice.send({ action: 'send_message', receiver_id: u.bob.id, text: 'hi bob' });
  const roomA = await alice.waitFor(h.isType('new_room'), { from: fa });
  const msgA = await alice.waitFor(h.isType('new_message'), { from: fa });
  assert.ok(alice.messages.indexOf(roomA) < alice.messages.indexOf(msgA), 'new_room before new_message');
  const room = roomA.data.room_id;
  const mid = msgA.data.message.id;
  const ts = msgA.data.message.timestamp;
  const iso = new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
  const lastMessage = (isSent) => ({
    message_id: mid, text: 'hi bob', timestamp: iso, is_sent: isSent, is_system_message: false,
    sender: h.senderOf(u.alice), file_id: null, replied_from_id: null,
  });
  const roomFrame = (unread, isSent, other) => JSON.stringify({
    type: 'new_room',
    data: {
      room_id: room, type: 'TECHNICIAN_DIRECT', unread_messages_count: unread, last_message: lastMessage(isSent),
      counterpart: { user_id: other.id, full_name: other.name, avatar: null, role: other.role },
      service: null, customer: null,
    },
  });
  assert.match(roomA.data.last_message.timestamp, ISO);
  assert.equal(rawOf(alice, roomA), roomFrame(0, true, u.bob), 'alice sees bob as counterpart');
  const roomA2 = await alice2.waitFor(h.isType('new_room'), { from: fa2 });
  assert.equal(rawOf(alice2, roomA2), roomFrame(0, true, u.bob), 'and so does her second device');
  const roomB = await bob.waitFor(h.isType('new_room'), { from: fb });
  assert.equal(rawOf(bob, roomB), roomFrame(1, false, u.alice), 'bob sees alice as counterpart');
  const msgB = await bob.waitFor(h.isType('new_message'), { from: fb });
  assert.ok(bob.messages.indexOf(roomB) < bob.messages.indexOf(msgB), 'new_room before new_message');
  assert.equal(rawOf(bob, msgB), newMessageFrame({ room_id: room, id: mid, is_sent: false, text: 'hi bob', timestamp: ts, sender: h.senderOf(u.alice) }));
  const unread = await bob.waitFor(h.isType('unread_message_count'), { from: fb });
  assert.deepEqual(unread, { type: 'unread_message_count', data: { room_id: room, unread_count: 1 } });

  // found, not created, the next time, from either side
  const fa3 = alice.mark(); const fb3 = bob.mark();
  bob.send({ action: 'send_message', receiver_id: u.alice.id, text: 'hi alice' });
  const back = await alice.waitFor(h.isNewMessage((m) => m.text === 'hi alice'), { from: fa3 });
  assert.equal(back.data.room_id, room);
  alice.send({ action: 'send_message', receiver_id: u.bob.id, text: 'again' });
  const again = await bob.waitFor(h.isNewMessage((m) => m.text === 'again'), { from: fb3 });
  assert.equal(again.data.room_id, room);
  await fence(alice); await fence(bob);
  assert.equal(alice.messages.slice(fa3).filter(h.isType('new_room')).length, 0, 'no second new_room');
  assert.equal(bob.messages.slice(fb3).filter(h.isType('new_room')).length, 0, 'no second new_room');
});

async function directRoom(from, to, fromUser, toUser) {
  const f = from.mark();
  from.send({ action: 'send_message', receiver_id: toUser.id, text: `room ${fromUser.id}-${toUser.id}` });
  const m = await from.waitFor(h.isType('new_message'), { from: f });
  return m.data.room_id;
}

async function sendTo(c, room, text, extra = {}) {
  const f = c.mark();
  c.send({ action: 'send_message', room_id: room, text, ...extra });
  const m = await c.waitFor(h.isNewMessage((mm) => mm.text === text), { from: f, what: `echo of ${text}` });
  return m.data.message.id;
}

test('file_id and replied_to_id: stored and delivered as file_id and replied_from_id', async () => {
  const room = await directRoom(bob, carol, u.bob, u.carol);
  const first = await sendTo(bob, room, 'first');
  const fc = carol.mark();
  bob.send({ action: 'send_message', room_id: room, file_id: 'file-42', replied_to_id: first });
  const m = await carol.waitFor(h.isNewMessage((mm) => mm.file_id === 'file-42'), { from: fc });
  assert.equal(rawOf(carol, m), newMessageFrame({
    room_id: room, id: m.data.message.id, is_sent: false, text: null, file_id: 'file-42',
    replied_from_id: first, timestamp: m.data.message.timestamp, sender: h.senderOf(u.bob),
  }));
  // a reply must point at a message of the same room
  const other = await sendTo(alice, '1', 'in the service room');
  const r = await bob.ask({ action: 'send_message', room_id: room, text: 'x', replied_to_id: other }, h.isType('error'));
  assert.equal(rawOf(bob, r), h.errorFrame('Message or room not found'));
});

test('mark_delivered: message_status to every connection of the sender, once', async () => {
  const room = await directRoom(alice, dan, u.alice, u.dan);
  const mid = await sendTo(alice, room, 'deliver me');
  await fence(alice2);
  const fa = alice.mark(); const fa2 = alice2.mark(); const fd = dan.mark();
  dan.send({ action: 'mark_delivered', message_id: mid });
  const st = await alice.waitFor(h.isType('message_status'), { from: fa });
  const frame = `{"type":"message_status","data":{"service_id":null,"message_id":"${mid}","status":"delivered"}}`;
  assert.equal(rawOf(alice, st), frame);
  const st2 = await alice2.waitFor(h.isType('message_status'), { from: fa2 });
  assert.equal(rawOf(alice2, st2), frame);
  assert.deepEqual(await fence(dan), [], 'the marker gets no reply to mark_delivered');
  // again: no change, no event
  dan.send({ action: 'mark_delivered', message_id: mid });
  await fence(dan);
  assert.deepEqual((await fence(alice)).filter(h.isType('message_status')), []);
  assert.equal(alice.messages.slice(fa).filter(h.isType('message_status')).length, 1);
});

test('mark_delivered in a service room carries the room\'s service_id', async () => {
  const mid = await sendTo(carol, '1', 'service status');
  const fc = carol.mark();
  alice.send({ action: 'mark_delivered', message_id: mid });
  const st = await carol.waitFor(h.isType('message_status'), { from: fc });
  assert.equal(rawOf(carol, st), `{"type":"message_status","data":{"service_id":"1","message_id":"${mid}","status":"delivered"}}`);
});

test('mark_read: message_status read to the sender, unread_message_count to every device of the reader', async () => {
  const room = await directRoom(bob, alice, u.bob, u.alice);
  await fence(alice); await fence(alice2);
  const ids = [];
  const counts = [];
  for (const t of ['r1', 'r2', 'r3']) {
    const fa0 = alice.mark();
    ids.push(await sendTo(bob, room, t));
    const c = await alice.waitFor((m) => m.type === 'unread_message_count' && m.data.room_id === room, { from: fa0 });
    counts.push(c.data.unread_count);
  }
  assert.deepEqual(counts, [counts[0], counts[0] + 1, counts[0] + 2], 'one more unread per message');

  const fb = bob.mark(); const fa = alice.mark(); const fa2 = alice2.mark();
  alice.send({ action: 'mark_read', message_id: ids[2] });
  const st = await bob.waitFor(h.isType('message_status'), { from: fb });
  assert.equal(rawOf(bob, st), `{"type":"message_status","data":{"service_id":null,"message_id":"${ids[2]}","status":"read"}}`);
  const c = await alice.waitFor(h.isType('unread_message_count'), { from: fa });
  assert.equal(rawOf(alice, c), `{"type":"unread_message_count","data":{"room_id":"${room}","unread_count":0}}`);
  const c2 = await alice2.waitFor((m) => m.type === 'unread_message_count' && m.data.unread_count === 0, { from: fa2 });
  assert.equal(c2.data.unread_count, 0, 'the reader\'s other device learns the count too');

  // marking an older message after a newer one does not raise the count
  const fa3 = alice.mark();
  alice.send({ action: 'mark_read', message_id: ids[0] });
  const c3 = await alice.waitFor(h.isType('unread_message_count'), { from: fa3 });
  assert.equal(c3.data.unread_count, 0);

  // two more, read the first of them, then an old one: 1 stays 1
  const n1 = await sendTo(bob, room, 'r4');
  await sendTo(bob, room, 'r5');
  await alice.waitFor((m) => m.type === 'unread_message_count' && m.data.room_id === room && m.data.unread_count === 2, { from: fa3 });
  const fa4 = alice.mark();
  alice.send({ action: 'mark_read', message_id: n1 });
  assert.equal((await alice.waitFor(h.isType('unread_message_count'), { from: fa4 })).data.unread_count, 1);
  const fa5 = alice.mark();
  alice.send({ action: 'mark_read', message_id: ids[1] });
  assert.equal((await alice.waitFor(h.isType('unread_message_count'), { from: fa5 })).data.unread_count, 1);
  // the counts seen by alice were never negative
  assert.ok(alice.messages.filter(h.isType('unread_message_count')).every((m) => m.data.unread_count >= 0));
});

test('mark_read then mark_delivered: the status does not go back', async () => {
  const room = await directRoom(carol, dan, u.carol, u.dan);
  const mid = await sendTo(carol, room, 'read first');
  dan.send({ action: 'mark_read', message_id: mid });
  await carol.waitFor((m) => m.type === 'message_status' && m.data.message_id === mid && m.data.status === 'read');
  await fence(dan);
  dan.send({ action: 'mark_delivered', message_id: mid });
  await fence(dan);
  const later = await fence(carol);
  assert.deepEqual(later.filter(h.isType('message_status')), [], 'no delivered after read');
});

test('mark_read covers older messages: a later mark_delivered of an older one sends nothing',
  async () => {
    const room = await directRoom(dan, carol, u.dan, u.carol);
    const older = await sendTo(dan, room, 'older one');
    const newer = await sendTo(dan, room, 'newer one');
    carol.send({ action: 'mark_read', message_id: newer });
    await dan.waitFor((m) => m.type === 'message_status' && m.data.message_id === newer && m.data.status === 'read');
    const fd = dan.mark();
    carol.send({ action: 'mark_delivered', message_id: older });
    await fence(carol);
    await fence(dan);
    assert.deepEqual(dan.messages.slice(fd).filter(h.isType('message_status')).map((m) => m.data), [], 'no "delivered" for a message already read');
  });

test('marking one\'s own message: no message_status; mark_read still answers the count', async () => {
  const mid = await sendTo(alice, '1', 'my own');
  const fa = alice.mark();
  alice.send({ action: 'mark_delivered', message_id: mid });
  alice.send({ action: 'mark_read', message_id: mid });
  const c = await alice.waitFor(h.isType('unread_message_count'), { from: fa });
  assert.equal(c.data.room_id, '1');
  assert.ok(c.data.unread_count >= 0);
  await fence(alice);
  assert.deepEqual(alice.messages.slice(fa).filter(h.isType('message_status')), []);
});

test('new_room action: the room as new_room; errors for a service room and for others\' rooms', async () => {
  const room = await directRoom(alice, carol, u.alice, u.carol);
  const r = await alice.ask({ action: 'new_room', room_id: room }, () => true);
  assert.equal(r.type, 'new_room');
  // the same object GET /api/v1/rooms lists for this room
  const rest = await h.request(s, '/api/v1/rooms', { headers: h.bearer(u.alice.token) });
  const listed = rest.json.rooms.find((x) => x.room_id === room);
  assert.equal(JSON.stringify(r.data), JSON.stringify(listed));
  assert.equal(r.data.type, 'TECHNICIAN_DIRECT');
  assert.deepEqual(r.data.counterpart, { user_id: u.carol.id, full_name: u.carol.name, avatar: null, role: 'ADMIN' });
  assert.equal(r.data.service, null);
  assert.equal(r.data.customer, null);
  assert.deepEqual(await fence(alice2), [], 'answered to the asking connection only');

  const e1 = await alice.ask({ action: 'new_room', room_id: '1' }, () => true);
  assert.equal(rawOf(alice, e1), h.errorFrame('Room is not a direct room'));

  const bobDan = await directRoom(bob, dan, u.bob, u.dan);
  const e2 = await alice.ask({ action: 'new_room', room_id: bobDan }, () => true);
  const e3 = await alice.ask({ action: 'new_room', room_id: '999999' }, () => true);
  assert.equal(rawOf(alice, e2), h.errorFrame('Room not found'));
  assert.equal(rawOf(alice, e3), rawOf(alice, e2), 'not a member answers exactly like no such room');
});

test('the service room as GET /api/v1/rooms lists it: service and customer details', async () => {
  const rest = await h.request(s, '/api/v1/rooms', { headers: h.bearer(u.carol.token) });
  const svc = rest.json.rooms.find((x) => x.room_id === '1');
  assert.equal(svc.type, 'SERVICE');
  assert.equal(svc.counterpart, null);
  assert.deepEqual(Object.keys(svc.service), ['id', 'created_at', 'status']);
  assert.equal(svc.service.id, '1');
  assert.match(svc.service.created_at, ISO);
  assert.equal(svc.service.status, 'IN_PROGRESS');
  assert.deepEqual(svc.customer, { full_name: 'Maria Rivera', phone_number: '+1 555 0100', address: '12 Harbour Street, Springfield' });
  assert.deepEqual(Object.keys(svc), ['room_id', 'type', 'unread_messages_count', 'last_message', 'counterpart', 'service', 'customer']);
});

test('texts round-trip byte for byte: unicode, escapes, control characters, NUL', async () => {
  const texts = ['héllo wörld ✓ 𝄞 😀', 'quote " backslash \\ slash /', 'tab\tnewline\ncr\r', 'nul\u0000byte', '\u0001\u001f\u007f', ' '.repeat(3) + 'x'.repeat(16381)];
  if (h.engine === 'postgres') {
    // PostgreSQL's text cannot hold a NUL byte: refused, nothing stored
    // (docs/decisions.md, "PostgreSQL engine", chat)
    const nul = texts.splice(texts.indexOf('nul\u0000byte'), 1)[0];
    const e = await alice.ask({ action: 'send_message', room_id: '1', text: nul }, (m) => m.type === 'error' || m.type === 'new_message');
    assert.equal(e.type, 'error', JSON.stringify(e));
  }
  for (const t of texts) {
    const fc = carol.mark();
    alice.send({ action: 'send_message', room_id: '1', text: t });
    const m = await carol.waitFor(h.isType('new_message'), { from: fc, what: `text ${JSON.stringify(t.slice(0, 20))}` });
    assert.equal(m.data.message.text, t);
  }
  const hist = await h.request(s, '/api/v1/rooms/1/messages?limit=' + texts.length, { headers: h.bearer(u.carol.token) });
  assert.deepEqual(hist.json.messages.map((m) => m.text).reverse(), texts);
});

test('a connection gets its answers in the order it sent its actions', async () => {
  const fa = alice.mark();
  const expect = [];
  for (let i = 0; i < 40; i++) {
    switch (i % 5) {
      case 0: alice.send({ action: 'send_message', room_id: '1', text: `order ${i}` }); expect.push(`new_message:order ${i}`); break;
      case 1: alice.send({ action: 'heartbeat' }); expect.push('heartbeat_response'); break;
      case 2: alice.send('not json'); expect.push('error:Invalid JSON format'); break;
      case 3: alice.send({ action: 'new_room', room_id: '1' }); expect.push('error:Room is not a direct room'); break;
      default: alice.send({ action: 'mark_read', message_id: 'zzz' }); expect.push('error:Message or room not found'); break;
    }
  }
  await alice.waitForN(() => true, expect.length, { from: fa, what: 'all answers' });
  const got = alice.messages.slice(fa, fa + expect.length).map((m) => {
    if (m.type === 'new_message') return `new_message:${m.data.message.text}`;
    if (m.type === 'error') return `error:${m.error}`;
    return m.type;
  });
  assert.deepEqual(got, expect);
});
