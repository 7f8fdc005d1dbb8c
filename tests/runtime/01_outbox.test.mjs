// The end of the turn: commit, then deliver. A reply that announces a write
// ("stored N", a 201) is never on the wire before the write is visible to a
// second SQLite connection, which sees committed data only; with and without
// a commit window, one message at a time and in bursts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, cleanup, T, sleep } from './rt_harness.mjs';

after(cleanup);

const N = 40;

/** On each "stored N" arriving, ask at once whether N is committed. */
function watchStored(s, c) {
  const checks = [];
  c.onFrame = (f) => {
    const m = !f.binary && /^stored (\S+)$/.exec(f.text);
    if (m) checks.push(s.get(`/t/committed/${m[1]}`).then((r) => ({ n: m[1], r })));
  };
  return checks;
}

async function assertAllVisible(checks, n) {
  const results = await Promise.all(checks);
  assert.equal(results.length, n);
  for (const { n: k, r } of results) {
    assert.equal(r.status, 200);
    assert.equal(r.json.visible, true, `row ${k}: "stored" arrived before its commit`);
  }
}

for (const window of [0, 20000]) {
  test(`--commit-window ${window}: "stored n" is never seen before row n is committed (one at a time)`, async () => {
    const s = await startRt(['--commit-window', String(window)], `ob${window}`);
    const c = await connect(s, '', 'writer');
    const checks = watchStored(s, c);
    for (let i = 0; i < N; i++) {
      // nothing is committed before the write
      assert.equal((await s.get(`/t/committed/one-${i}`)).json.visible, false);
      await c.ask(`write one-${i}`, `stored one-${i}`);
    }
    await assertAllVisible(checks, N);
    c.close();
    await c.waitClose();
  });

  test(`--commit-window ${window}: a burst of writes, every reply after its commit, in order`, async () => {
    const s = await startRt(['--commit-window', String(window)], `obb${window}`);
    const c = await connect(s, '', 'burst');
    const checks = watchStored(s, c);
    const from = c.mark();
    // one synchronous loop: the frames leave in as few TCP segments as node
    // makes, so the server reads several in one turn (and more than the 16
    // a connection may send per turn)
    for (let i = 0; i < 3 * N; i++) c.send(i % 3 === 2 ? `echo e${i}` : `write burst-${i}`);
    await c.waitFor(`echo e${3 * N - 1}`, { from, ms: T(10000) });
    const expected = [];
    for (let i = 0; i < 3 * N; i++) expected.push(i % 3 === 2 ? `echo e${i}` : `stored burst-${i}`);
    assert.deepEqual(c.texts(from), expected, 'replies in the order asked');
    await assertAllVisible(checks, 2 * N);
    c.close();
    await c.waitClose();
  });
}

test('--commit-window 20000: a reply waits for the window, a write-free reply behind it waits too', async () => {
  const s = await startRt(['--commit-window', '20000'], 'obw');
  const c = await connect(s, '', 'w');
  const from = c.mark();
  const t0 = Date.now();
  c.send('write w-1');
  c.send('echo after');
  const stored = await c.waitFor('stored w-1', { from });
  const echo = await c.waitFor('echo after', { from });
  // the window is 20 ms from the first write: the reply cannot come sooner
  // (a little slack for timer granularity)
  assert.ok(stored.at - t0 >= 15, `stored after ${stored.at - t0} ms, window 20 ms`);
  assert.ok(echo.at >= stored.at);
  assert.deepEqual(c.texts(from), ['stored w-1', 'echo after']);
  assert.equal((await s.get('/t/committed/w-1')).json.visible, true);
  c.close();
  await c.waitClose();
});

test('a POST answered after its commit: 201 {id, len}, then the row is visible', async () => {
  const s = await startRt([], 'obhttp');
  for (const id of ['7', '8', 'x-9']) {
    const body = JSON.stringify({ id, pad: 'p'.repeat(Number(id.length) * 10) });
    const r = await s.send(`/t/items/${id}`, 'POST', body);
    assert.equal(r.status, 201);
    assert.deepEqual(r.json, { id, len: Buffer.byteLength(body) });
    assert.equal((await s.get(`/t/committed/${id}`)).json.visible, true, `row ${id} after its answer`);
  }
  // with a window too: the answer waits for the commit
  const w = await startRt(['--commit-window', '20000'], 'obhttpw');
  const r = await w.send('/t/items/7', 'POST', '{}');
  assert.equal(r.status, 201);
  assert.equal((await w.get('/t/committed/7')).json.visible, true);
});

test('a client that hangs up while its answer waits for the commit window does not stall the server', async () => {
  const s = await startRt(['--commit-window', '100000'], 'obgone');
  const { rawRequest } = await import('./rt_harness.mjs');
  // the answer waits up to 100 ms for the commit; the client is gone at once
  const body = '{"a":1}';
  const gone = rawRequest(s,
    `POST /t/items/gone HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    { settle: 1 });
  const net = await import('node:net');
  const sock = net.connect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.write(`POST /t/items/gone2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  await sleep(5);
  sock.destroy();
  await gone.catch(() => {});
  await sleep(150);
  // the writes landed, and the server answers others
  const r = await s.send('/t/items/after', 'POST', body);
  assert.equal(r.status, 201);
  assert.equal((await s.get('/t/committed/gone2')).json.visible, true);
  assert.equal((await s.get('/t/committed/after')).json.visible, true);
});
