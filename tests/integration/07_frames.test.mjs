// WebSocket framing: size limit (1009), invalid UTF-8 (1007), binary frames
// (1003), fragmented messages reassembled, the connection limit (1013).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const MAX = 4096;
let s, u;

before(async () => {
  s = await h.startServer({ tag: 'frames', args: ['--max-message', String(MAX)] });
  u = s.users;
});
after(h.cleanup);

/** a heartbeat padded with an unknown field to exactly n bytes */
const padded = (n) => {
  const head = '{"action":"heartbeat","x":"';
  return `${head}${'p'.repeat(n - head.length - 2)}"}`;
};

test('a message over --max-message closes with 1009; exactly at the limit is read', async () => {
  const c = await h.login(s, u.alice, 'at limit');
  const at = padded(MAX);
  assert.equal(Buffer.byteLength(at), MAX);
  const r = await c.ask(at);
  assert.equal(r.error, 'x: unknown field', 'a message of exactly max bytes is parsed');
  const big = await h.login(s, u.alice, 'over limit');
  big.send(padded(MAX + 1));
  assert.deepEqual(await big.waitClose(), { code: 1009, reason: `message over ${MAX} bytes` });
  assert.equal(big.count(() => true), 1, 'no answer to the big message (only the login heartbeat)');
  // far over, in one frame
  const huge = await h.login(s, u.alice, 'huge');
  huge.send(padded(1 << 20));
  assert.deepEqual(await huge.waitClose(), { code: 1009, reason: `message over ${MAX} bytes` });
  const m = await h.metrics(s);
  assert.equal(m['switchboard_connections_closed_total{reason="message_too_big"}'], 2);
  // the server is fine
  assert.equal((await c.ask({ action: 'heartbeat' })).type, 'heartbeat_response');
});

test('fragments that add up to more than --max-message close with 1009', async () => {
  const c = await h.login(s, u.alice, 'fragments over');
  const part = 'q'.repeat(1000);
  c.ws.send('{"action":"heartbeat","x":"', { fin: false });
  for (let i = 0; i < 5; i++) c.ws.send(part, { fin: false });
  c.ws.send('"}', { fin: true });
  assert.deepEqual(await c.waitClose(), { code: 1009, reason: `message over ${MAX} bytes` });
});

test('invalid UTF-8 in a text frame closes with 1007', async () => {
  for (const bytes of [[0x7b, 0xff, 0x7d], [0x7b, 0xc3, 0x28, 0x7d], [0xed, 0xa0, 0x80] /* a surrogate */, [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80] /* > U+10FFFF */]) {
    const c = await h.login(s, u.alice, `utf8 ${bytes}`);
    c.ws.send(Buffer.from(bytes), { binary: false });
    const close = await c.waitClose();
    assert.equal(close.code, 1007, `bytes ${bytes}`);
  }
  // an overlong encoding inside an otherwise valid JSON string
  const c = await h.login(s, u.alice, 'overlong');
  c.ws.send(Buffer.concat([Buffer.from('{"action":"send_message","room_id":"1","text":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), { binary: false });
  assert.equal((await c.waitClose()).code, 1007);
  // nothing of it was stored
  const hist = await h.request(s, '/api/v1/rooms/1/messages', { headers: h.bearer(u.alice.token) });
  assert.deepEqual(hist.json.messages, []);
});

test('a text message that ends inside a UTF-8 sequence closes with 1007 at once',
  async () => {
    const c = await h.login(s, u.alice, 'truncated utf8');
    c.ws.send(Buffer.from([0x7b, 0xe2, 0x9c]), { binary: false });
    const close = await c.waitClose(Math.min(h.T(1000), 1500));
    assert.equal(close.code, 1007);
    assert.equal(c.count(h.isType('error')), 0, 'the message is not handled');
  });

test('invalid UTF-8 split across fragments closes with 1007; valid UTF-8 split across fragments is fine', async () => {
  const ok = await h.login(s, u.alice, 'split ok');
  const b = Buffer.from('{"action":"send_message","room_id":"1","text":"é✓😀"}');
  const cut = b.indexOf(0xf0) + 2; // inside the 4-byte emoji
  ok.ws.send(b.subarray(0, cut), { fin: false, binary: false });
  ok.ws.send(b.subarray(cut), { fin: true });
  const m = await ok.waitFor(h.isType('new_message'));
  assert.equal(m.data.message.text, 'é✓😀');
  const bad = await h.login(s, u.alice, 'split bad');
  bad.ws.send(Buffer.from('{"action":"heartbeat","x":"'), { fin: false, binary: false });
  bad.ws.send(Buffer.from([0xc3]), { fin: false });
  bad.ws.send(Buffer.from('("}'), { fin: true }); // 0xc3 0x28 is invalid
  assert.equal((await bad.waitClose()).code, 1007);
});

test('a binary frame closes with 1003 "text frames only"', async () => {
  const c = await h.login(s, u.alice, 'binary');
  c.ws.send(Buffer.from('{"action":"heartbeat"}'), { binary: true });
  assert.deepEqual(await c.waitClose(), { code: 1003, reason: 'text frames only' });
  // a binary message in fragments too
  const d = await h.login(s, u.alice, 'binary fragments');
  d.ws.send(Buffer.from('{"action":'), { binary: true, fin: false });
  d.ws.send(Buffer.from('"heartbeat"}'), { fin: true });
  assert.deepEqual(await d.waitClose(), { code: 1003, reason: 'text frames only' });
});

test('fragmented messages are reassembled, also with pings between the fragments and when large', async () => {
  const c = await h.login(s, u.alice, 'fragments');
  const msg = '{"action":"send_message","room_id":"1","text":"assembled from pieces"}';
  for (let i = 0; i < msg.length; i += 7) c.ws.send(msg.slice(i, i + 7), { fin: i + 7 >= msg.length });
  const m = await c.waitFor(h.isType('new_message'));
  assert.equal(m.data.message.text, 'assembled from pieces');

  const f = c.mark();
  c.ws.send('{"action":"he', { fin: false });
  c.ws.ping();
  c.ws.send('artbeat"}', { fin: true });
  assert.equal((await c.waitFor(() => true, { from: f })).type, 'heartbeat_response');

  // just under the limit, in 1-byte-over-rx-buffer pieces (the server's receive buffer is 1 KiB)
  const text = 't'.repeat(MAX - 100);
  const big = JSON.stringify({ action: 'send_message', room_id: '1', text });
  assert.ok(big.length <= MAX);
  const g = c.mark();
  for (let i = 0; i < big.length; i += 1025) c.ws.send(big.slice(i, i + 1025), { fin: i + 1025 >= big.length });
  const mm = await c.waitFor(h.isType('new_message'), { from: g });
  assert.equal(mm.data.message.text, text);

  // several fragmented messages back to back, then a whole one: order kept
  const k = c.mark();
  for (let n = 0; n < 5; n++) {
    const t = JSON.stringify({ action: 'send_message', room_id: '1', text: `frag ${n}` });
    c.ws.send(t.slice(0, 10), { fin: false });
    c.ws.send(t.slice(10), { fin: true });
  }
  c.send({ action: 'heartbeat' });
  const got = await c.waitForN(() => true, 6, { from: k });
  assert.deepEqual(got.map((x) => (x.type === 'new_message' ? x.data.message.text : x.type)),
    ['frag 0', 'frag 1', 'frag 2', 'frag 3', 'frag 4', 'heartbeat_response']);
});

test('a ping is answered with a pong', async () => {
  const c = await h.login(s, u.alice, 'ping');
  const pong = new Promise((resolve) => c.ws.once('pong', (d) => resolve(d.toString())));
  c.ws.ping('hello');
  assert.equal(await h.withTimeout(pong, h.T(3000), 'pong'), 'hello');
});

test('--max-connections: one too many is closed with 1013', async () => {
  const t = await h.startServer({ tag: 'maxconn', args: ['--max-connections', '2'] });
  const a = await h.login(t, t.users.alice, 'one');
  const b = await h.login(t, t.users.bob, 'two');
  const c = await h.connect(t, { token: t.users.carol.token, label: 'three' });
  assert.deepEqual(await c.waitClose(), { code: 1013, reason: 'too many connections' });
  assert.equal((await a.ask({ action: 'heartbeat' })).type, 'heartbeat_response');
  b.close();
  await b.waitClose();
  await h.until(async () => (await h.metrics(t)).switchboard_connections === 1, h.T(3000), 'a slot is free');
  const d = await h.login(t, t.users.carol, 'three again');
  assert.equal(d.closeInfo, null);
});
