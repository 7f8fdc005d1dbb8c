// Every error string of seed 003, exactly, and the generated parser's
// "PATH: REASON" errors as the client receives them. Errors never close an
// authenticated connection; a missing or bad token always does (1008).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

let s, u, alice, bob;

before(async () => {
  // many invalid messages on one connection, on purpose: the --max-invalid limit has its own test (15_limits)
  s = await h.startServer({ tag: 'errors', args: ['--max-invalid', '0'] });
  u = s.users;
  alice = await h.login(s, u.alice, 'alice');
  bob = await h.login(s, u.bob, 'bob');
});
after(h.cleanup);

/** send raw text, return the raw text of the next frame */
async function answer(c, text) {
  const from = c.mark();
  c.send(text);
  await c.waitFor(() => true, { from, what: `answer to ${JSON.stringify(text.slice(0, 60))}` });
  return c.raw[from];
}

async function expectError(c, input, text) {
  assert.equal(await answer(c, input), h.errorFrame(text), `input ${JSON.stringify(input.slice(0, 80))}`);
}

test('Invalid JSON format', async () => {
  for (const input of ['nope', '{', '', '{"action":"heartbeat"', '{"action":"heartbeat"} x', "{'action':'heartbeat'}", '{"action":"heartbeat",}']) {
    await expectError(alice, input, 'Invalid JSON format');
  }
  // whitespace around a valid document is fine
  assert.equal(await answer(alice, ' \n{"action":"heartbeat"}\t '), '{"type":"heartbeat_response","status":"ok","data":{"status":"ok"}}');
});

test('No action specified', async () => {
  for (const input of ['{}', '{"action":null}', '{"text":"hello"}', '{"action":5}', '{"action":{"x":1}}']) {
    await expectError(alice, input, 'No action specified');
  }
});

test('Unknown action: X, with X as sent (JSON-escaped on the wire)', async () => {
  await expectError(alice, '{"action":"zzz"}', 'Unknown action: zzz');
  await expectError(alice, '{"action":"HEARTBEAT"}', 'Unknown action: HEARTBEAT');
  await expectError(alice, '{"action":""}', 'Unknown action: ');
  await expectError(alice, '{"action":"a\\"b\\\\c"}', 'Unknown action: a"b\\c');
  await expectError(alice, '{"action":"ünïcødé ✓"}', 'Unknown action: ünïcødé ✓');
  // documented: up to 128 bytes of the action
  await expectError(alice, `{"action":"${'a'.repeat(200)}"}`, `Unknown action: ${'a'.repeat(128)}`);
});

test('Unknown action with a multi-byte character across the 128-byte cut still sends valid UTF-8',
  async () => {
    const c = await h.login(s, u.carol, 'carol-utf8');
    const action = `${'a'.repeat(127)}é`; // é is bytes 128 and 129
    const from = c.mark();
    c.send(`{"action":"${action}"}`);
    const m = await c.waitFor(() => true, { from, what: 'error frame' });
    assert.equal(m.type, 'error');
    // a cut on a character boundary: 127 a's, without the half of é
    assert.equal(m.error, `Unknown action: ${'a'.repeat(127)}`);
    assert.equal(c.closeInfo, null);
  });

test('Room not found: no such room, not a number, a room the user is not in: all the same bytes', async () => {
  const r = await bob.ask({ action: 'send_message', receiver_id: u.dan.id, text: 'bob and dan' }, h.isType('new_message'));
  const bobDan = r.data.room_id;
  const frame = h.errorFrame('Room not found');
  for (const room_id of ['999999', 'abc', '0', '01', '-1', '', ' 1', bobDan]) {
    assert.equal(await answer(alice, JSON.stringify({ action: 'send_message', room_id, text: 'x' })), frame, `room_id ${room_id}`);
    assert.equal(await answer(alice, JSON.stringify({ action: 'new_room', room_id })), frame, `new_room ${room_id}`);
  }
  // bob is not in the service room 1
  assert.equal(await answer(bob, '{"action":"send_message","room_id":"1","text":"x"}'), frame);
  // unknown receiver, and neither room_id nor receiver_id (docs/protocols/chat.md)
  assert.equal(await answer(alice, '{"action":"send_message","receiver_id":"424242","text":"x"}'), frame);
  assert.equal(await answer(alice, '{"action":"send_message","text":"x"}'), frame);
  assert.equal(await answer(alice, '{"action":"send_message","room_id":null,"receiver_id":null,"text":"x"}'), frame);
});

test('Message or room not found: unknown, malformed, or in a room the user is not in', async () => {
  const r = await bob.ask({ action: 'send_message', receiver_id: u.dan.id, text: 'secret' }, h.isType('new_message'));
  const theirs = r.data.message.id;
  const frame = h.errorFrame('Message or room not found');
  for (const action of ['mark_delivered', 'mark_read']) {
    for (const message_id of ['999999', 'abc', '', '0', theirs]) {
      assert.equal(await answer(alice, JSON.stringify({ action, message_id })), frame, `${action} ${message_id}`);
    }
  }
  assert.equal(await answer(alice, JSON.stringify({ action: 'send_message', room_id: '1', text: 'x', replied_to_id: '999999' })), frame);
  // a reply to a message of another room, by receiver_id: the same
  assert.equal(await answer(alice, JSON.stringify({ action: 'send_message', receiver_id: u.bob.id, text: 'x', replied_to_id: theirs })), frame);
});

test('Room is not a direct room', async () => {
  await expectError(alice, '{"action":"new_room","room_id":"1"}', 'Room is not a direct room');
});

test('Not allowed (Switchboard extension): to oneself, or neither text nor file_id', async () => {
  await expectError(alice, JSON.stringify({ action: 'send_message', receiver_id: u.alice.id, text: 'me' }), 'Not allowed');
  await expectError(alice, '{"action":"send_message","room_id":"1"}', 'Not allowed');
  await expectError(alice, '{"action":"send_message","room_id":"1","text":""}', 'Not allowed');
  await expectError(alice, '{"action":"send_message","room_id":"1","text":null,"file_id":null}', 'Not allowed');
});

test('generated-parser errors reach the client with their field path', async () => {
  const cases = [
    ['{"action":"send_message","room_id":5,"text":"x"}', 'room_id: expected string, got number'],
    ['{"action":"send_message","room_id":"1","text":"x","bogus":1}', 'bogus: unknown field'],
    ['{"action":"heartbeat","x":null}', 'x: unknown field'],
    [`{"action":"send_message","room_id":"1","text":"${'t'.repeat(16385)}"}`, 'text: longer than 16384 bytes'],
    [`{"action":"send_message","room_id":"${'1'.repeat(65)}","text":"x"}`, 'room_id: longer than 64 bytes'],
    ['{"action":"send_message","room_id":"1","text":"x","client_message_id":""}', 'client_message_id: shorter than 1 bytes'],
    [`{"action":"send_message","room_id":"1","text":"x","client_message_id":"${'c'.repeat(65)}"}`, 'client_message_id: longer than 64 bytes'],
    ['{"action":"send_message","room_id":"1","text":"x","client_message_id":null}', 'client_message_id: expected string, got null'],
    ['{"action":"mark_read"}', 'message_id: missing required field'],
    ['{"action":"mark_read","message_id":5}', 'message_id: expected string, got number'],
    ['{"action":"mark_delivered","message_id":null}', 'message_id: expected string, got null'],
    ['{"action":"new_room"}', 'room_id: missing required field'],
    ['{"action":"send_message","text":["x"],"room_id":"1"}', 'text: expected string, got array'],
    ['{"action":"heartbeat","action":"heartbeat"}', 'action: duplicate field'],
    ['[1,2]', '$: expected object, got array'],
    ['"heartbeat"', '$: expected object, got string'],
    ['null', '$: expected object, got null'],
  ];
  for (const [input, text] of cases) await expectError(alice, input, text);
  // exactly at the limits is accepted
  const ok = await answer(alice, `{"action":"send_message","room_id":"1","text":"${'t'.repeat(16384)}","client_message_id":"${'c'.repeat(64)}"}`);
  assert.equal(JSON.parse(ok).type, 'new_message');
});

test('errors do not close the connection', async () => {
  assert.equal(alice.closeInfo, null);
  assert.equal(await answer(alice, '{"action":"heartbeat"}'), '{"type":"heartbeat_response","status":"ok","data":{"status":"ok"}}');
});

async function refused(opts, what) {
  const c = await h.connect(s, { label: what, ...opts });
  const close = await c.waitClose();
  return { close, raw: c.raw };
}

test('Authentication required, then close 1008: missing, wrong, and malformed tokens, by query and by Bearer', async () => {
  const want = { close: { code: 1008, reason: 'Authentication required' }, raw: [h.errorFrame('Authentication required')] };
  const bad = 'f'.repeat(64);
  const cases = {
    'no token': {},
    'wrong ?token=': { token: bad },
    'wrong Bearer': { token: bad, bearer: true },
    'Bearer with no token': { headers: { Authorization: 'Bearer ' } },
    'Basic scheme': { headers: { Authorization: `Basic ${u.alice.token}` } },
    'token with the wrong case': { token: u.alice.token.toUpperCase() },
    'token with a suffix': { token: `${u.alice.token}x` },
    'token of another tree\'s user': { token: 'a'.repeat(256) },
  };
  for (const [what, opts] of Object.entries(cases)) {
    assert.deepEqual(await refused(opts, what), want, what);
  }
});

test('a valid token by Bearer header (any case of the scheme) is accepted', async () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const c = await h.connect(s, { headers: { Authorization: `${scheme} ${u.bob.token}` }, label: scheme });
    const r = await c.ask({ action: 'heartbeat' });
    assert.equal(r.type, 'heartbeat_response');
    c.close();
  }
});

test('an empty ?token= is a missing token: Authentication required',
  async () => {
    assert.deepEqual(await refused({ query: 'token=' }, 'empty token'),
      { close: { code: 1008, reason: 'Authentication required' }, raw: [h.errorFrame('Authentication required')] });
    const c = await h.connect(s, { query: 'token=', headers: h.bearer(u.bob.token), label: 'empty token + bearer' });
    const r = await c.ask({ action: 'heartbeat' });
    assert.equal(r.type, 'heartbeat_response');
  });

test('connection parameters of the wrong type: the parser\'s message, then close 1008', async () => {
  for (const [query, text] of [['since=abc', 'since: expected integer'], ['since=-1', 'since: out of range'], [`token=${'t'.repeat(257)}`, 'token: longer than 256 bytes']]) {
    const q = query.startsWith('token') ? query : `token=${u.alice.token}&${query}`;
    assert.deepEqual(await refused({ query: q }, query), { close: { code: 1008, reason: text }, raw: [h.errorFrame(text)] }, query);
  }
});

test('an unknown WebSocket path is refused with 404 before the upgrade', async () => {
  await assert.rejects(h.connect(s, { url: `ws://127.0.0.1:${s.port}/ws/chatx?token=${u.alice.token}` }), /HTTP 404/);
  await assert.rejects(h.connect(s, { url: `ws://127.0.0.1:${s.port}/ws/other?token=${u.alice.token}` }), /HTTP 404/);
});

test('the auth failure and error counters move', async () => {
  const m = await h.metrics(s);
  assert.ok(m['switchboard_errors_total{kind="auth_failed"}'] >= 8);
  assert.ok(m['switchboard_errors_total{kind="invalid_message"}'] >= 20);
  assert.ok(m['switchboard_errors_total{kind="error_reply"}'] >= 20);
});
