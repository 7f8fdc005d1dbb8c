// A client that stops reading while another floods its room: the flooder is
// paused once the reader's queue passes half of --max-queue (back-pressure),
// the reader is closed with 1008 when its queue reaches the cap or stops
// moving for --send-timeout, memory stays bounded, and everyone else keeps
// working.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

after(h.cleanup);

const QUEUE_FULL = 'switchboard_connections_closed_total{reason="queue_full"}';
const STALLED = 'switchboard_connections_closed_total{reason="stalled"}';
const closedForQueue = (m) => (m[QUEUE_FULL] || 0) + (m[STALLED] || 0);

test('a paused reader is closed with 1008 (queue cap or send timeout); RSS stays bounded; the others keep working', async () => {
  const s = await h.startServer({ tag: 'slow', unlimited: true, args: ['--max-queue', '65536', '--send-timeout', '2'] });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice (flooder)');
  const slow = await h.login(s, u.bob, 'bob (paused)');
  const bob2 = await h.login(s, u.bob, 'bob (reading)');
  const carol = await h.login(s, u.carol, 'carol (bystander)');
  const first = await alice.ask({ action: 'send_message', receiver_id: u.bob.id, text: 'start' }, h.isType('new_message'));
  const room = first.data.room_id;
  await slow.waitFor(h.isNewMessage((m) => m.text === 'start'));
  await bob2.waitFor(h.isNewMessage((m) => m.text === 'start'));

  slow.ws._socket.pause();
  const rss0 = s.rssKb();
  const text = 'z'.repeat(8000);
  const WINDOW = 4; // a healthy reader never has more than a few frames queued
  const MAX = 5000; // 40 MB of frames for the paused socket at most
  let sent = 0;
  let closedAt = -1;
  let peakKb = rss0;
  while (sent < MAX) {
    for (let k = 0; k < WINDOW; k++) alice.send({ action: 'send_message', room_id: room, text: `${sent++} ${text}` });
    await alice.waitForN(h.isNewMessage((m) => m.text.endsWith(text)), sent, { ms: h.T(10000), what: `echo ${sent}` });
    if (sent % 100 === 0) {
      peakKb = Math.max(peakKb, s.rssKb());
      if (closedForQueue(await h.metrics(s)) === 1) { closedAt = sent; break; }
    }
  }
  assert.ok(closedAt > 0, `the paused reader was closed for its queue (after ${sent} messages)`);
  // keep flooding a little: the closed connection must not hold anything
  for (let k = 0; k < 50; k++) {
    for (let j = 0; j < WINDOW; j++) alice.send({ action: 'send_message', room_id: room, text: `${sent++} ${text}` });
    await alice.waitForN(h.isNewMessage((m) => m.text.endsWith(text)), sent, { ms: h.T(10000), what: `echo ${sent}` });
  }
  peakKb = Math.max(peakKb, s.rssKb());
  const bound = (h.SANITIZED ? 256 : 64) * 1024;
  assert.ok(peakKb - rss0 < bound, `RSS grew ${peakKb - rss0} kB (from ${rss0} kB), bound ${bound} kB`);

  // the log names it
  assert.match(s.stderr, /level=warn event=(queue_full|consumer_stalled) conn=\d+ channel=chat queued=\d+/);
  // once it reads again, the paused client finds the close: 1008
  slow.ws._socket.resume();
  const close = await slow.waitClose(h.T(10000));
  // 1008 when the close frame got out; a peer whose socket was full for
  // longer than the close wait is dropped without one (1006)
  assert.ok(close.code === 1008 || close.code === 1006, JSON.stringify(close));
  if (close.code === 1008)
    assert.ok(['outbound queue full', 'consumer too slow'].includes(close.reason), close.reason);
  assert.ok(slow.count(h.isType('new_message')) < sent, 'it got only a part');

  // everyone else: all messages, in order, connections open
  const all = await bob2.waitForN(h.isNewMessage((m) => m.text.endsWith(text)), sent, { ms: h.T(10000), what: 'every flood message' });
  assert.deepEqual(all.map((m) => Number(m.data.message.text.split(' ')[0])), Array.from({ length: sent }, (_, i) => i));
  for (const c of [alice, bob2, carol]) {
    const hb = await c.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
    assert.ok(hb, `${c.label} still answers`);
    assert.equal(c.closeInfo, null);
  }
  const m = await h.metrics(s);
  assert.equal(closedForQueue(m), 1, 'only the paused reader was closed');
  assert.equal(m.switchboard_connections, 3);
  // the slow device can catch up through the REST history, page by page
  const lastSeen = Number(slow.messages.filter(h.isType('new_message')).at(-1).data.message.id);
  const newer = [];
  for (let before = ''; ;) {
    const page = await h.request(s, `/api/v1/rooms/${room}/messages?limit=200${before}`, { headers: h.bearer(u.bob.token) });
    assert.equal(page.status, 200);
    const ids = page.json.messages.map((x) => Number(x.id));
    newer.push(...ids.filter((id) => id > lastSeen));
    if (!page.json.has_more || ids.at(-1) <= lastSeen) break;
    before = `&before=${ids.at(-1)}`;
  }
  assert.equal(newer.length, all.length + 1 - slow.count(h.isType('new_message')), 'every message the paused device missed');
});

test('a burst from one sender does not disconnect healthy readers (default --max-queue)',
  async () => {
    const s = await h.startServer({ tag: 'burst', unlimited: true });
    const u = s.users;
    const alice = await h.login(s, u.alice, 'alice');
    const bob = await h.login(s, u.bob, 'bob');
    const room = (await alice.ask({ action: 'send_message', receiver_id: u.bob.id, text: 'start' }, h.isType('new_message'))).data.room_id;
    const text = 'y'.repeat(16000);
    const N = 400;
    for (let i = 0; i < N; i++) alice.send({ action: 'send_message', room_id: room, text });
    await bob.waitForN(h.isNewMessage((m) => m.text === text), N, { ms: h.T(15000) });
    await alice.waitForN(h.isNewMessage((m) => m.text === text), N, { ms: h.T(15000) });
    assert.equal((await h.metrics(s))[QUEUE_FULL], 0);
  });

test('a ?since= replay bigger than --max-queue is delivered, not cut off',
  async () => {
    const s = await h.startServer({ tag: 'replay', unlimited: true }); // default --max-queue 1 MiB
    const u = s.users;
    const alice = await h.login(s, u.alice, 'alice');
    const text = 'r'.repeat(2000);
    for (let i = 0; i < 1000; i += 10) {
      for (let k = 0; k < 10; k++) alice.send({ action: 'send_message', room_id: '1', text: `${i + k} ${text}` });
      await alice.waitForN(h.isType('new_message'), i + 10, { ms: h.T(10000) });
    }
    // carol was away for all of it: about 2.3 MB of replay
    const carol = await h.connect(s, { token: u.carol.token, query: 'since=0', label: 'carol back' });
    const got = await carol.waitForN(h.isType('new_message'), 1000, { ms: h.T(10000), what: 'the replay' });
    assert.equal(got[999].data.message.text, `999 ${text}`);
  });
