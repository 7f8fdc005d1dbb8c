// Engine.IO v4 over WebSocket (a WebSocket-only session): one packet per
// frame, binary frames raw, UTF-8, large and fragmented messages, maxPayload,
// control frames, and packets that end the connection. The conformance server
// echoes every message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startTarget, cleanup, eioWs, T, withTimeout, MAX_PAYLOAD, SEP } from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

test('websocket: a text message "4hello" comes back as one text frame "4hello"', async () => {
  const c = await eioWs(s);
  const f = await c.ask('4hello');
  assert.deepEqual(Object.keys(f).filter((k) => k !== 'at'), ['text']);
  assert.equal(f.text, '4hello');
  c.close();
});

test('websocket: a binary frame comes back as a binary frame with the same bytes (no "b", no type byte)', async () => {
  const c = await eioWs(s);
  const f = await c.ask(Uint8Array.from([1, 2, 3, 4]));
  assert.ok(f.binary, `a binary frame, got ${c.describe([f])}`);
  assert.deepEqual(f.binary, Buffer.from([1, 2, 3, 4]));
  c.close();
});

test('websocket: one packet per frame: three messages sent back to back come back as three frames, none joined with \\x1e', async () => {
  const c = await eioWs(s);
  const from = c.mark();
  c.send('4m1');
  c.send(Buffer.from([9, 8]));
  c.send('4m3');
  const fs = await c.waitFrames(3, { from });
  assert.equal(fs[0].text, '4m1');
  assert.deepEqual(fs[1].binary, Buffer.from([9, 8]));
  assert.equal(fs[2].text, '4m3');
  for (const f of fs) assert.ok(!(f.text || '').includes(SEP));
  c.close();
});

test('websocket: UTF-8 (é ü € emoji) intact both ways', async () => {
  const c = await eioWs(s);
  const msg = '4é ü € 😀 ✓ 中文';
  const f = await c.ask(msg);
  assert.equal(f.text, msg);
  c.close();
});

test('websocket: an empty text message "4" and an empty binary frame are echoed', async () => {
  const c = await eioWs(s);
  assert.equal((await c.ask('4')).text, '4');
  const b = await c.ask(Buffer.alloc(0));
  assert.ok(b.binary);
  assert.equal(b.binary.length, 0);
  c.close();
});

test('websocket: 30 KB text, 70 KB binary and 200 KB text messages (16- and 64-bit frame lengths) come back intact', async () => {
  const c = await eioWs(s);
  const mid = `4${'m'.repeat(30000)}`;
  const bin = crypto.randomBytes(70000);
  const big = `4${crypto.randomBytes(150000).toString('base64').slice(0, 200000)}`;
  const from = c.mark();
  c.send(mid);
  c.send(bin);
  c.send(big);
  const [a, b, d] = await c.waitFrames(3, { from, ms: T(5000) });
  assert.equal(a.text, mid);
  assert.deepEqual(b.binary, bin);
  assert.equal(d.text, big);
  c.close();
});

test('websocket: a message sent in three fragments comes back whole', async () => {
  const c = await eioWs(s);
  const from = c.mark();
  c.ws.send('4frag', { fin: false });
  c.ws.send('men', { fin: false });
  c.ws.send('ted', { fin: true });
  const [f] = await c.waitFrames(1, { from });
  assert.equal(f.text, '4fragmented');
  c.close();
});

test('websocket: a message of exactly maxPayload bytes is accepted (text and binary)', async () => {
  const c = await eioWs(s);
  const text = `4${'x'.repeat(MAX_PAYLOAD - 1)}`;
  const bin = Buffer.alloc(MAX_PAYLOAD, 7);
  const from = c.mark();
  c.send(text);
  c.send(bin);
  const [a, b] = await c.waitFrames(2, { from, ms: T(10000) });
  assert.equal(a.text, text);
  assert.deepEqual(b.binary, bin);
  c.close();
});

for (const [what, data] of [
  ['text', `4${'x'.repeat(MAX_PAYLOAD)}`],
  ['binary', Buffer.alloc(MAX_PAYLOAD + 1, 7)],
]) {
  test(`websocket: a ${what} message over maxPayload closes the connection with 1009`, async () => {
    const c = await eioWs(s);
    c.send(data);
    const info = await c.waitClose(T(5000));
    assert.equal(info.code, 1009);
    assert.deepEqual(c.packets(1).map((f) => (f.text ?? 'binary').slice(0, 20)), [], 'nothing echoed');
  });
}

test('websocket: a WebSocket ping control frame is answered with a pong carrying the same data', async () => {
  const c = await eioWs(s);
  const pong = withTimeout(new Promise((resolve) => c.ws.once('pong', resolve)), T(3000), 'pong');
  c.ws.ping(Buffer.from('are-you-there'));
  assert.deepEqual(await pong, Buffer.from('are-you-there'));
  c.close();
});

test('websocket: a close frame from the client is answered with a close frame', async () => {
  const c = await eioWs(s);
  c.ws.close(1000, 'bye');
  const info = await c.waitClose();
  assert.equal(info.code, 1000);
});

for (const [what, data] of [
  ['not a packet ("abc")', 'abc'],
  ['unknown packet type ("9")', '9'],
  ['an empty text frame', ''],
]) {
  test(`websocket: a frame that is ${what} closes the connection`, async () => {
    const c = await eioWs(s);
    c.send(data);
    await c.waitClose();
  });
}
