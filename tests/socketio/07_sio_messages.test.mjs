// Socket.IO v5 EVENT / ACK / BINARY_EVENT / BINARY_ACK through the conformance
// server (`message` echoed as `message-back`, `message-with-ack` acked with the
// same arguments), on WebSocket and on polling, and DISCONNECT from the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  startTarget, cleanup, sioWs, sioJoin, Polling, T, sleep, PING_INTERVAL, SEP,
  placeholder, decodeSio, fillPlaceholders,
} from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

const ph = (i) => JSON.stringify(placeholder(i));

/** send a packet and then its attachments; resolve the next n frames (pings skipped) */
async function exchange(c, packet, attachments, n) {
  const from = c.mark();
  c.send(packet);
  for (const a of attachments) c.send(a);
  return c.waitFrames(n, { from, what: `${n} frames answering ${packet.slice(0, 60)}` });
}

test('EVENT "message" is echoed as "message-back" with the same arguments, byte for byte', async () => {
  const c = await sioWs(s);
  const f = await c.ask('42["message",1,"2",{"3":[true]}]');
  assert.equal(f.text, '42["message-back",1,"2",{"3":[true]}]');
  c.close();
});

test('EVENT arguments of every JSON kind (null, booleans, numbers, nested objects, empty array) come back equal', async () => {
  const c = await sioWs(s);
  const args = [null, false, true, 0, -12, 3.25, 1e21, '', 'x', [], {}, { a: { b: [1, { c: null }] } }];
  const f = await c.ask(`42${JSON.stringify(['message', ...args])}`);
  const p = decodeSio(f.text.slice(1));
  assert.equal(p.type, 2);
  assert.equal(p.nsp, '/');
  assert.equal(p.id, undefined);
  assert.deepEqual(p.data, ['message-back', ...args]);
  c.close();
});

test('EVENT "message" with no arguments → 42["message-back"]', async () => {
  const c = await sioWs(s);
  assert.equal((await c.ask('42["message"]')).text, '42["message-back"]');
  c.close();
});

test('EVENT with an ack id → ACK with the same id and the same arguments', async () => {
  const c = await sioWs(s);
  const f = await c.ask('42456["message-with-ack",1,"2",{"3":[false]}]');
  assert.equal(f.text, '43456[1,"2",{"3":[false]}]');
  c.close();
});

test('EVENT with an ack id and no arguments → ACK with an empty array', async () => {
  const c = await sioWs(s);
  assert.equal((await c.ask('4212["message-with-ack"]')).text, '4312[]');
  c.close();
});

test('ack ids are kept as given: 0, 7 and 123456789', async () => {
  const c = await sioWs(s);
  for (const id of [0, 7, 123456789]) {
    assert.equal((await c.ask(`42${id}["message-with-ack","id ${id}"]`)).text, `43${id}["id ${id}"]`);
  }
  c.close();
});

test('events and acks come back in the order they were sent', async () => {
  const c = await sioWs(s);
  const from = c.mark();
  const expected = [];
  for (let i = 0; i < 30; i++) {
    if (i % 3 === 0) {
      c.send(`42${i}["message-with-ack",${i}]`);
      expected.push(`43${i}[${i}]`);
    } else {
      c.send(`42["message",${i}]`);
      expected.push(`42["message-back",${i}]`);
    }
  }
  const fs = await c.waitFrames(30, { from });
  assert.deepEqual(fs.map((f) => f.text), expected);
  c.close();
});

test('UTF-8 (é ü € emoji) in event arguments comes back intact over WebSocket', async () => {
  const c = await sioWs(s);
  const f = await c.ask('42["message","é ü € 😀","中文 ✓",{"clé":"välue"}]');
  assert.equal(f.text, '42["message-back","é ü € 😀","中文 ✓",{"clé":"välue"}]');
  c.close();
});

test('BINARY_EVENT: placeholders and two attachments → BINARY_EVENT "message-back" with the attachments in the same order', async () => {
  const c = await sioWs(s);
  const fs = await exchange(c, `452-["message",${ph(0)},${ph(1)}]`, [Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5, 6])], 3);
  assert.equal(fs[0].text, `452-["message-back",${ph(0)},${ph(1)}]`);
  assert.deepEqual(fs[1].binary, Buffer.from([1, 2, 3]));
  assert.deepEqual(fs[2].binary, Buffer.from([4, 5, 6]));
  c.close();
});

test('BINARY_EVENT with an ack id → BINARY_ACK with the same id and the attachments in order', async () => {
  const c = await sioWs(s);
  const fs = await exchange(c, `452-789["message-with-ack",${ph(0)},${ph(1)}]`, [Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5, 6])], 3);
  assert.equal(fs[0].text, `462-789[${ph(0)},${ph(1)}]`);
  assert.deepEqual(fs[1].binary, Buffer.from([1, 2, 3]));
  assert.deepEqual(fs[2].binary, Buffer.from([4, 5, 6]));
  c.close();
});

test('BINARY_EVENT: attachments nested in objects and arrays, referenced out of order, come back in the same places', async () => {
  const c = await sioWs(s);
  const bins = [crypto.randomBytes(5), crypto.randomBytes(300), Buffer.from('third')];
  const json = `["message",{"a":[1,${ph(2)}],"b":${ph(0)}},"text",${ph(1)}]`;
  const fs = await exchange(c, `453-${json}`, bins, 4);
  const head = decodeSio(fs[0].text.slice(1));
  assert.equal(head.type, 5);
  assert.equal(head.attachments, 3);
  const got = fillPlaceholders(head.data, fs.slice(1).map((f) => f.binary));
  assert.deepEqual(got, ['message-back', { a: [1, bins[2]], b: bins[0] }, 'text', bins[1]]);
  c.close();
});

test('BINARY_EVENT with ten attachments (the most allowed) is echoed with all ten', async () => {
  const c = await sioWs(s);
  const bins = Array.from({ length: 10 }, (_, i) => Buffer.from([i, i, i]));
  const json = JSON.stringify(['message', ...bins.map((_, i) => placeholder(i))]);
  const fs = await exchange(c, `4510-${json}`, bins, 11);
  const head = decodeSio(fs[0].text.slice(1));
  assert.equal(head.attachments, 10);
  assert.deepEqual(fillPlaceholders(head.data, fs.slice(1).map((f) => f.binary)), ['message-back', ...bins]);
  c.close();
});

test('BINARY_EVENT with an empty (0-byte) attachment is echoed with an empty binary frame', async () => {
  const c = await sioWs(s);
  const fs = await exchange(c, `451-["message",${ph(0)}]`, [Buffer.alloc(0)], 2);
  assert.equal(fs[0].text, `451-["message-back",${ph(0)}]`);
  assert.ok(fs[1].binary);
  assert.equal(fs[1].binary.length, 0);
  c.close();
});

test('BINARY_EVENT on polling: attachments as b+base64 packets after the event, echoed the same way', async () => {
  const p = new Polling(s, '/socket.io/');
  await p.handshake();
  await p.send('40');
  await p.collect((ps) => ps.length >= 2); // CONNECT reply, auth event
  await p.send(`452-["message",${ph(0)},"mid",${ph(1)}]${SEP}bAQID${SEP}b/wD+`);
  const got = await p.collect((ps) => ps.length >= 3);
  assert.deepEqual(got, [`452-["message-back",${ph(0)},"mid",${ph(1)}]`, 'bAQID', 'b/wD+']);
});

test('EVENT and ACK with UTF-8 over polling come back intact', async () => {
  const p = new Polling(s, '/socket.io/');
  await p.handshake();
  await p.send('40');
  await p.collect((ps) => ps.length >= 2);
  await p.send(`42["message","é ü € 😀"]${SEP}425["message-with-ack","€"]`);
  const got = await p.collect((ps) => ps.length >= 2);
  assert.deepEqual(got, ['42["message-back","é ü € 😀"]', '435["€"]']);
});

test('DISCONNECT "41" from the client: no reply, the Engine.IO connection stays open (the next frame is a ping)', async () => {
  const c = await sioWs(s);
  const from = c.mark();
  c.send('41');
  const [f] = await c.waitFrames(1, { from, withPings: true, ms: PING_INTERVAL + T(500), what: 'the next frame after 41' });
  assert.equal(f.text, '2');
  c.close();
});

test('DISCONNECT "41/custom" leaves / joined: an EVENT on / is still echoed', async () => {
  const c = await sioWs(s);
  await sioJoin(c, { nsp: '/custom' });
  c.send('41/custom');
  const f = await c.ask('42["message","message to main namespace"]');
  assert.equal(f.text, '42["message-back","message to main namespace"]');
  c.close();
});

test('DISCONNECT "41/custom," (with the comma) leaves / joined as well', async () => {
  const c = await sioWs(s);
  await sioJoin(c, { nsp: '/custom' });
  c.send('41/custom,');
  assert.equal((await c.ask('42["message",2]')).text, '42["message-back",2]');
  c.close();
});

test('DISCONNECT "41" leaves /custom joined: the connection stays open, and / can be joined again with a new sid', async () => {
  const c = await sioWs(s);
  await sioJoin(c, { nsp: '/custom' });
  const first = c.sioSid['/'];
  c.send('41');
  assert.ok(await c.staysOpen(T(300)), 'still open');
  const again = await sioJoin(c, { nsp: '/', auth: { again: true } });
  assert.notEqual(again.data.sid, first);
  assert.equal(again.authEvent, '42["auth",{"again":true}]');
  assert.equal((await c.ask('42["message","back"]')).text, '42["message-back","back"]');
  c.close();
});

// The reference closes the whole connection when a packet names a namespace the
// client is not in; the spec asks the same of a packet before the first CONNECT.
for (const [what, setup, packet] of [
  ['an EVENT on /custom, never joined', [], '42/custom,["message"]'],
  ['an EVENT on / after leaving it', ['41'], '42["message","gone"]'],
]) {
  test(`a packet for a namespace the client is not in (${what}) closes the connection`, async () => {
    const c = await sioWs(s);
    for (const p of setup) c.send(p);
    if (setup.length) await sleep(T(50)); // the reference handles a DISCONNECT on its next tick
    const from = c.mark();
    c.send(packet);
    await c.waitClose(T(1000));
    assert.deepEqual(c.packets(from).map((f) => f.text), [], 'nothing answered');
  });
}
