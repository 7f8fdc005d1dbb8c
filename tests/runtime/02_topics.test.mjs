// Topics through the runtime: fan-out to every subscriber of a topic,
// subscriptions from repeated ?topic= keys, unsubscribe, and a closed
// connection leaving all its topics (later publishes reach the others).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, cleanup, h, T } from './rt_harness.mjs';

let s;
before(async () => { s = await startRt([], 'topics'); });
after(cleanup);

const msgs = (c, topic, from = 0) => c.texts(from).filter((t) => t.startsWith(`msg ${topic} `));

test('fan-out: every subscriber of a topic gets each publish once, in order; others get nothing', async () => {
  const base = await s.stats();
  const ab = [];
  for (let i = 0; i < 3; i++) ab.push(await connect(s, 'topic=a&topic=b', `ab${i}`));
  const onlyA = await connect(s, 'topic=a', 'onlyA');
  const onlyB = await connect(s, 'topic=b', 'onlyB');
  const none = await connect(s, '', 'none');
  const st = await s.stats();
  assert.equal(st.topics, base.topics + 2);
  assert.equal(st.sessions, base.sessions + 6);

  const r1 = await onlyA.ask('pub a one', /^pubbed a /);
  assert.equal(r1.text, 'pubbed a 4');
  const r2 = await none.ask('pub b two', /^pubbed b /);
  assert.equal(r2.text, 'pubbed b 4');
  await onlyA.ask('pub a three', /^pubbed a /);
  for (const c of [...ab, onlyA]) await c.waitFor('msg a three');
  for (const c of [...ab, onlyB]) await c.waitFor('msg b two');
  for (const c of ab) {
    assert.deepEqual(msgs(c, 'a'), ['msg a one', 'msg a three']);
    assert.deepEqual(msgs(c, 'b'), ['msg b two']);
  }
  assert.deepEqual(msgs(onlyA, 'b'), []);
  assert.deepEqual(msgs(onlyB, 'a'), []);
  assert.deepEqual(msgs(none, 'a').concat(msgs(none, 'b')), []);
  // a topic nobody listens to: queued, delivered to nobody, no topic created
  assert.equal((await none.ask('pub nobody x', /^pubbed nobody /)).text, 'pubbed nobody 0');
  assert.equal((await s.stats()).topics, base.topics + 2);
  for (const c of [...ab, onlyA, onlyB, none]) c.close();
  for (const c of [...ab, onlyA, onlyB, none]) await c.waitClose();
  await h.until(async () => (await s.stats()).topics === base.topics, T(3000), 'topics freed after the closes');
});

test('unsub stops delivery; subscriptions are counted', async () => {
  const x = await connect(s, 'topic=u1&topic=u2', 'x');
  const y = await connect(s, 'topic=u1', 'y');
  await x.ask('unsub u1', 'unsubbed u1');
  const from = x.mark();
  await y.ask('pub u1 after-unsub', /^pubbed u1 1$/);
  await y.waitFor('msg u1 after-unsub');
  // a publish on u2 afterwards: x's frames are in order, so when it has u2's
  // it would have had u1's before
  await y.ask('pub u2 sentinel', 'pubbed u2 1');
  await x.waitFor('msg u2 sentinel', { from });
  assert.deepEqual(msgs(x, 'u1', from), []);
  // twice subscribed needs two unsubs
  await x.ask('sub u3', 'subbed u3');
  await x.ask('sub u3', 'subbed u3');
  await x.ask('unsub u3', 'unsubbed u3');
  assert.equal((await y.ask('pub u3 still', /^pubbed u3 /)).text, 'pubbed u3 1');
  await x.waitFor('msg u3 still');
  await x.ask('unsub u3', 'unsubbed u3');
  assert.equal((await y.ask('pub u3 gone', /^pubbed u3 /)).text, 'pubbed u3 0');
  // an over-long topic is refused, the connection lives on
  assert.equal((await x.ask(`sub ${'t'.repeat(128)}`, /^(subbed|refused) /)).text.split(' ')[0], 'refused');
  assert.equal((await x.ask(`sub ${'t'.repeat(127)}`, /^(subbed|refused) /)).text.split(' ')[0], 'subbed');
  x.close();
  y.close();
  await x.waitClose();
  await y.waitClose();
});

test('a closed connection leaves its topics: later publishes reach the others, the server lives', async () => {
  const base = await s.stats();
  const keep1 = await connect(s, 'topic=c1&topic=c2', 'keep1');
  const keep2 = await connect(s, 'topic=c1', 'keep2');
  const gone = await connect(s, 'topic=c1&topic=c2&topic=c3', 'gone');
  assert.equal((await s.stats()).topics, base.topics + 3);
  gone.terminate(); // no close handshake: the runtime learns it from the socket
  await gone.waitClose();
  await h.until(async () => (await s.stats()).sessions === base.sessions + 2, T(3000), 'session freed');
  const st = await s.stats();
  assert.equal(st.topics, base.topics + 2, 'c3 had only the closed connection: freed');
  assert.equal((await keep2.ask('pub c1 later', /^pubbed c1 /)).text, 'pubbed c1 2');
  assert.equal((await keep2.ask('pub c2 later', /^pubbed c2 /)).text, 'pubbed c2 1');
  await keep1.waitFor('msg c1 later');
  await keep1.waitFor('msg c2 later');
  await keep2.waitFor('msg c1 later');
  // a connection that closes in the same turn as a publish to it
  const racer = await connect(s, 'topic=c1', 'racer');
  racer.send('close');
  await keep2.ask('pub c1 race', /^pubbed c1 /);
  await racer.waitClose();
  await keep1.waitFor('msg c1 race');
  assert.equal((await s.get('/t/stats')).status, 200);
  keep1.close();
  keep2.close();
  await keep1.waitClose();
  await keep2.waitClose();
});

test('close: the close frame comes after what the turn queued before it', async () => {
  const c = await connect(s, 'topic=z', 'closer');
  const from = c.mark();
  c.send('echo first');
  c.send('pub z second');
  c.send('close');
  const info = await c.waitClose();
  assert.equal(info.code, 1000);
  assert.equal(info.reason, 'bye');
  assert.deepEqual(c.texts(from), ['echo first', 'msg z second', 'pubbed z 1']);
});
