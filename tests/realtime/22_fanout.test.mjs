// Tenants under load, artifacts, connection state recovery.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { h, startRealtime, socket, connect, connected, ask, update, updatesOf, token, closeAll } from './rt.mjs';

after(async () => { closeAll(); await h.cleanup(); });

test('two tenants under load: each client gets exactly its company\'s updates, in order', async () => {
  const s = await startRealtime(['--max-ip-connections', '0', '--max-user-connections', '0']);
  const N = 25, K = 40;
  const clients = { A: [], B: [] };
  for (const co of ['A', 'B']) {
    for (let i = 0; i < N; i++) {
      clients[co].push(await connect(s, { transports: i % 2 ? ['websocket'] : undefined, tok: token({ sub: `${co}${i}`, company_id: `co-${co}` }) }));
    }
  }
  // both companies' updates at once, several POSTs in flight
  const posts = [];
  for (let k = 0; k < K; k++) {
    for (const co of ['A', 'B']) {
      posts.push(update(s, { company_id: `co-${co}`, action: 'tick', data: { co, k }, requestId: `${co}-${k}` }));
    }
    if (posts.length >= 16) await Promise.all(posts.splice(0));
  }
  const answers = await Promise.all(posts);
  for (const r of answers) assert.equal(r.status, 200);
  for (const co of ['A', 'B']) {
    for (const c of clients[co]) {
      await h.until(() => updatesOf(c).length >= K, h.T(20000), `${co}: ${K} updates`);
    }
  }
  await h.sleep(200);
  for (const co of ['A', 'B']) {
    for (const c of clients[co]) {
      const got = updatesOf(c);
      assert.equal(got.length, K, 'no more, no less');
      assert.ok(got.every((u) => u.env.data.co === co), `only company ${co}'s`);
      assert.deepEqual(got.map((u) => u.env.data.k), [...Array(K).keys()], 'in the order they were posted');
      const offs = got.map((u) => Number(u.offset));
      assert.ok(offs.every((o, i) => i === 0 || o > offs[i - 1]), 'offsets increase');
    }
  }
});

test('an artifact\'s updates reach its followers in its company only, even with the same artifact ID elsewhere', async () => {
  const s = await startRealtime();
  const a = await connect(s, { tok: token({ company_id: 'co-A', artifacts: '*' }), artifactId: 'shared' });
  const aOther = await connect(s, { tok: token({ sub: 'u2', company_id: 'co-A' }) });
  const b = await connect(s, { tok: token({ company_id: 'co-B', artifacts: '*' }), artifactId: 'shared' });
  const r = await update(s, { company_id: 'co-A', artifact_id: 'shared', action: 'artifactUpdate', data: { v: 1 } });
  assert.equal(r.json.delivered, 1);
  await h.until(() => updatesOf(a).length === 1, h.T(5000), 'the follower');
  await h.sleep(200);
  assert.equal(updatesOf(aOther).length, 0, 'not a follower');
  assert.equal(updatesOf(b).length, 0, 'another company\'s artifact of the same ID');
  // subscribeArtifact joins the same stream
  await ask(aOther, 'subscribeArtifact', { artifactId: 'shared' }).catch(() => {});
  const denied = await ask(aOther, 'subscribeArtifact', { artifactId: 'shared' });
  assert.equal(denied.error.code, 'ACTION_NOT_ALLOWED', 'its token lists no artifacts');
});

function dropTransport(c) {
  c.io.engine.transport.ws._socket.destroy();
}

test('recovery: a client that loses its transport gets what it missed, in order, once, and socket.recovered', async () => {
  const s = await startRealtime(['--realtime-recovery', '60']);
  const c = socket(s, { transports: ['websocket'], reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 400,
    tok: token({ company_id: 'co-R' }) });
  await connected(c);
  assert.equal(c.recovered, false);
  for (let k = 0; k < 3; k++) await update(s, { company_id: 'co-R', action: 'tick', data: { k }, requestId: `before-${k}` });
  await h.until(() => updatesOf(c).length === 3, h.T(5000), '3 updates');
  const reconnected = new Promise((r) => c.io.once('reconnect', r));
  dropTransport(c);
  await h.until(() => !c.connected, h.T(5000), 'disconnected');
  // missed while away
  for (let k = 0; k < 4; k++) await update(s, { company_id: 'co-R', action: 'tick', data: { k }, requestId: `away-${k}` });
  await h.withTimeout(reconnected, h.T(10000), 'reconnect');
  await connected(c);
  assert.equal(c.recovered, true, 'socket.recovered');
  await update(s, { company_id: 'co-R', action: 'tick', data: { k: 0 }, requestId: 'after-0' });
  await h.until(() => updatesOf(c).length === 8, h.T(5000), '8 updates');
  await h.sleep(200);
  assert.deepEqual(updatesOf(c).map((u) => u.env.requestId),
    ['before-0', 'before-1', 'before-2', 'away-0', 'away-1', 'away-2', 'away-3', 'after-0']);
  const m = await h.metrics(s);
  assert.equal(m.switchboard_realtime_recovered_total, 1);
});

test('no recovery: with --realtime-recovery 0, and after an explicit disconnect', async () => {
  for (const args of [['--realtime-recovery', '0'], []]) {
    const s = await startRealtime(args);
    const c = socket(s, { transports: ['websocket'], reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 300,
      tok: token({ company_id: 'co-N' }) });
    await connected(c);
    await update(s, { company_id: 'co-N', action: 'tick', requestId: 'one' });
    await h.until(() => updatesOf(c).length === 1, h.T(5000), 'one update');
    if (args.length) {
      const reconnected = new Promise((r) => c.io.once('reconnect', r));
      dropTransport(c);
      await h.until(() => !c.connected, h.T(5000), 'disconnected');
      await update(s, { company_id: 'co-N', action: 'tick', requestId: 'missed' });
      await h.withTimeout(reconnected, h.T(10000), 'reconnect');
      await connected(c);
      assert.ok(!c.recovered, 'recovery off');
    } else {
      c.disconnect(); // a goodbye: nothing is kept
      await update(s, { company_id: 'co-N', action: 'tick', requestId: 'missed' });
      c.connect();
      await connected(c);
      assert.ok(!c.recovered, 'after disconnect()');
    }
    await h.sleep(300);
    assert.deepEqual(updatesOf(c).map((u) => u.env.requestId), ['one'], 'nothing replayed');
    c.close();
  }
});
