// Engine.IO v4 HTTP long-polling, by hand: POST answers, payloads joined with
// \x1e, binary as b+base64, UTF-8, held GETs, maxPayload, and the requests that
// end a session (a second GET or POST at once, an aborted GET, a payload that
// does not parse). The conformance server echoes every message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  startTarget, cleanup, httpRequest, Polling, T, sleep, until, MAX_PAYLOAD, SEP,
} from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget(); });
after(cleanup);

async function session() {
  const p = new Polling(s);
  await p.handshake();
  return p;
}

/** the session is gone: a GET with its sid is refused as unknown */
async function assertGone(p, why) {
  const r = await p.get();
  assert.equal(r.status, 400, `${why}: GET after it should be refused, got ${r.status} ${JSON.stringify(r.text)}`);
  assert.deepEqual(r.json, { code: 1, message: 'Session ID unknown' });
}

test('polling: a POST is answered 200 "ok"; the next GET returns the echoed packet "4hello"', async () => {
  const p = await session();
  const r = await p.post('4hello');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'ok');
  const g = await p.get();
  assert.equal(g.status, 200);
  assert.equal(g.text, '4hello');
});

test('polling: GET answers are text/plain; charset=UTF-8 with cache-control: no-store', async () => {
  const p = await session();
  assert.equal(p.handshakeResponse.headers['cache-control'], 'no-store');
  await p.send('4x');
  const g = await p.get();
  assert.equal(g.text, '4x');
  assert.match(g.headers['content-type'], /^text\/plain\b/i);
  assert.match(g.headers['content-type'], /charset=utf-8/i);
  assert.equal(g.headers['cache-control'], 'no-store');
});

test('polling: several packets in one POST, joined by \\x1e, come back joined by \\x1e in one GET', async () => {
  const p = await session();
  await p.send(`4test1${SEP}4test2${SEP}4test3`);
  const g = await p.get();
  assert.equal(g.text, `4test1${SEP}4test2${SEP}4test3`);
});

test('polling: packets queued by separate POSTs between polls are flushed together in one GET, in order', async () => {
  const p = await session();
  await p.send('4first');
  await p.send(`4second${SEP}4third`);
  const g = await p.get();
  assert.equal(g.text, `4first${SEP}4second${SEP}4third`);
});

test('polling: a binary packet (b + base64) between text packets is echoed as b + base64', async () => {
  const p = await session();
  await p.send(`4hello${SEP}bAQIDBA==`);
  const g = await p.get();
  assert.equal(g.text, `4hello${SEP}bAQIDBA==`);
});

test('polling: 4 KiB of binary holding every byte value round-trips as b + base64', async () => {
  const p = await session();
  const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), crypto.randomBytes(4096 - 256)]);
  await p.send(`b${bytes.toString('base64')}`);
  const g = await p.get();
  assert.ok(g.text.startsWith('b'), g.text.slice(0, 20));
  assert.deepEqual(Buffer.from(g.text.slice(1), 'base64'), bytes);
});

test('polling: an empty text message "4" and an empty binary message "b" are echoed', async () => {
  const p = await session();
  await p.send(`4${SEP}b${SEP}4`);
  const g = await p.get();
  assert.equal(g.text, `4${SEP}b${SEP}4`);
});

test('polling: UTF-8 (é ü € emoji) intact both ways; Content-Length counts bytes', async () => {
  const p = await session();
  const msg = '4é ü € 😀 ✓ 中文';
  await p.send(msg);
  const g = await p.get();
  assert.equal(g.text, msg);
  assert.deepEqual(g.body, Buffer.from(msg, 'utf8'));
  assert.equal(Number(g.headers['content-length']), Buffer.byteLength(msg));
});

test('polling: a GET is held while nothing is queued, then answered with the packet a POST queued', async () => {
  const p = await session();
  const pingsOnly = (g) => g.text.split(SEP).every((x) => x === '2');
  let answered = false;
  let held = p.get();
  held.then(() => { answered = true; }, () => {});
  // 60 ms, not scaled: a GET that were not held would be answered at once.
  // A ping ("2", every PING_INTERVAL from the handshake) is something
  // queued: on a slow (sanitized) machine it may answer the GET first
  // (the CI's ASan run did); it is answered, and the next GET is held.
  await sleep(60);
  if (answered) {
    const g0 = await held;
    assert.equal(g0.status, 200);
    assert.ok(pingsOnly(g0), `only a ping may answer it: ${JSON.stringify(g0.text)}`);
    await p.send('3');
    held = p.get();
  }
  await p.send('4late');
  const packets = [];
  for (let i = 0; i < 5 && packets.length === 0; i++) {
    const g = i === 0 ? await held : await p.get();
    assert.equal(g.status, 200);
    const parts = g.text.split(SEP);
    if (parts.includes('2')) await p.send('3');
    packets.push(...parts.filter((x) => x !== '2'));
  }
  assert.deepEqual(packets, ['4late']);
});

test('polling: a POST of exactly maxPayload bytes is accepted and echoed', async () => {
  const p = await session();
  const msg = `4${'a'.repeat(MAX_PAYLOAD - 1)}`;
  const r = await p.post(msg, { ms: T(10000) });
  assert.equal(r.status, 200);
  assert.equal(r.text, 'ok');
  const g = await p.get({ ms: T(10000) });
  assert.equal(g.text.length, MAX_PAYLOAD);
  assert.equal(g.text, msg);
});

test('polling: a POST over maxPayload is answered 413 and ends the session', async () => {
  const p = await session();
  const r = await p.post(`4${'a'.repeat(MAX_PAYLOAD)}`, { ms: T(10000) });
  assert.equal(r.status, 413, r.error ? `connection dropped instead: ${r.error.code}` : r.text);
  await assertGone(p, 'POST over maxPayload');
});

test('polling: a second GET while one is held → 400; the held GET gets the close packet "1"; the session is closed', async () => {
  const p = await session();
  const first = p.get();
  await sleep(T(20));
  const second = await p.get({ extra: 't=burst' });
  assert.equal(second.status, 400);
  const r1 = await first;
  assert.equal(r1.status, 200);
  assert.equal(r1.text, '1');
  await assertGone(p, 'duplicate GET');
});

test('polling: a second POST while one is still being received → 400 and the session is closed', async () => {
  const p = await session();
  // the first POST announces 64 bytes and sends 4 of them
  const first = httpRequest(s, p.url(), {
    method: 'POST', body: '4abc', keepOpen: true, headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': '64' },
  });
  await sleep(T(30));
  const second = await p.post('4second');
  assert.equal(second.status, 400);
  await assertGone(p, 'duplicate POST');
  first.req.destroy();
  await first.catch(() => {});
});

test('polling: a GET aborted by the client ends the session', async () => {
  const p = await session();
  const held = p.get();
  await sleep(T(20));
  held.req.destroy();
  await held.catch(() => {});
  // the server sees the abort when the FIN arrives; either way the session must end
  await until(async () => (await p.get({ ms: T(1000) }).catch(() => ({ status: -1 }))).status === 400, T(2000), 'session ended after the aborted GET');
  await assertGone(p, 'aborted GET');
});

for (const [what, payload] of [
  ['not a packet ("abc")', 'abc'],
  ['unknown packet type ("9x")', '9x'],
  ['bad packet after a good one', `4fine${SEP}abc`],
]) {
  test(`polling: a payload that does not parse, ${what}, ends the session`, async () => {
    const p = await session();
    const r = await p.post(payload);
    // the spec's suite wants 400 or a dropped request; the reference answers
    // "ok" and closes the session: only the end of the session is checked
    assert.ok([0, 200, 400].includes(r.status), `POST answered ${r.status}`);
    await assertGone(p, `POST ${JSON.stringify(payload)}`);
  });
}
