// WebSocket details and timers through the runtime: binary echo, one-shot
// timers (with the owner's session), timers cancelled with their
// connection, refused routes at start-up, a clean SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, cleanup, runToEnd, h, T, sleep } from './rt_harness.mjs';

let s;
before(async () => { s = await startRt([], 'ws'); });
after(cleanup);

test('binary messages are echoed as binary, byte for byte (NULs, invalid UTF-8)', async () => {
  const c = await connect(s, '', 'bin');
  const payloads = [Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0x80]), Buffer.alloc(0), Buffer.alloc(60000, 0xab)];
  for (const p of payloads) {
    const from = c.mark();
    c.send(p, { binary: true });
    const f = await c.waitFor((x) => x.binary, { from });
    assert.equal(f.binary, true);
    assert.ok(f.data.equals(p), `echo of ${p.length} bytes`);
  }
  // text is still text after binary
  assert.equal((await c.ask('echo text', /^echo /)).binary, false);
  c.close();
  await c.waitClose();
});

test('a one-shot timer fires once, with the connection and its session', async () => {
  const c = await connect(s, 'tag=mine', 'timer');
  const t0 = Date.now();
  await c.ask('timer 150', 'timer 150');
  const tick = await c.waitFor(/^tick /, { ms: T(3000) });
  assert.equal(tick.text, `tick ${c.id} mine`);
  assert.ok(tick.at - t0 >= 140, `fired after ${tick.at - t0} ms`);
  await sleep(400);
  assert.equal(c.texts().filter((t) => t.startsWith('tick ')).length, 1, 'one-shot: once');
  // several at once, each once
  const from = c.mark();
  for (const ms of [30, 10, 20]) c.send(`timer ${ms}`);
  await sleep(T(300));
  assert.equal(c.texts(from).filter((t) => t.startsWith('tick ')).length, 3);
  c.close();
  await c.waitClose();
});

test('timers are cancelled when their connection closes: no tick after close, no crash', async () => {
  const ticksBefore = (await s.stats()).ticks;
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const c = await connect(s, '', `doomed${i}`);
    ids.push(c.id);
    await c.ask('timer 300', 'timer 300');
    await c.ask('timer 50000', 'timer 50000');
    if (i % 2) c.terminate(); else c.close();
    await c.waitClose();
  }
  await h.until(async () => (await s.stats()).sessions === 0, T(3000), 'sessions gone');
  await sleep(T(600));
  for (const id of ids) assert.doesNotMatch(s.stderr, new RegExp(`tick conn=${id}\\b`), `timer of closed ${id} fired`);
  assert.equal((await s.stats()).ticks, ticksBefore);
  // the server still runs timers for others
  const c = await connect(s, '', 'after');
  await c.ask('timer 10', 'timer 10');
  await c.waitFor(/^tick /);
  c.close();
  await c.waitClose();
});

test('a malformed route template is refused at start-up: non-zero exit naming the route', async () => {
  const dir = h.tempDir('bad');
  const r = await runToEnd(['--port', '0', '--db', `${dir}/t.db`, '--bad-route']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /route refused: HTTP route GET \/t\/bad\/\{x: /);
  assert.doesNotMatch(r.stdout, /port=/, 'it never listened');
});

test('a method and template registered twice are refused at start-up', async () => {
  const dir = h.tempDir('dup');
  const r = await runToEnd(['--port', '0', '--db', `${dir}/t.db`, '--dup-route']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /route refused: HTTP route GET \/t\/headers: registered twice/);
  assert.doesNotMatch(r.stdout, /port=/);
});

test('SIGTERM: open WebSockets closed with 1001, held polls end, exit 0', async () => {
  const t = await startRt([], 'term');
  const c = await connect(t, 'topic=a', 'held');
  const poll = t.get('/t/poll?timeout_ms=60000').catch((e) => e);
  await h.until(async () => (await t.stats()).polls === 1, T(3000), 'poll held');
  await c.ask('write last', 'stored last');
  const r = await t.stop();
  assert.equal(r.code, 0, t.stderr);
  assert.equal((await c.waitClose()).code, 1001);
  await poll; // answered or cut: it must not hang
  assert.match(t.stderr, /stopped clean=1 sessions=0/);
});
