// 24_nodes: two switchboard processes (nodes) on one database, as behind a
// load balancer. A company's offsets are handed out in the order its UPDATEs
// commit, whichever node stores them (each append locks the company's row
// first), and a client that recovers on one node is replayed what both nodes
// stored for its company after its offset, in offset order, once
// (docs/decisions.md, "PostgreSQL engine", realtime). Recovery records (the
// pid) are the node's own: the client reconnects to the node it left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  startRt, connect, cleanup, postUpdate, metrics, dropTransport, T, until, sleep, mint, h,
} from './realtime_harness.mjs';

let a; let b;
before(async () => {
  // the first node makes the schema before the second starts
  a = await startRt();
  b = await startRt({ dir: a.dir });
});
after(cleanup);

const post = (s, body) => postUpdate(s, body).then((r) => {
  assert.equal(r.status, 200, r.text);
  return r.json;
});
const slowReconnect = (delay) => ({ reconnectionDelay: delay, reconnectionDelayMax: delay, randomizationFactor: 0 });

test('UPDATEs of one company posted on both nodes at once get distinct offsets', async () => {
  const posts = [];
  for (let i = 0; i < 40; i++) posts.push(post(i % 2 ? b : a, { company_id: 'burst', action: 'x', requestId: `burst-${i}` }));
  const offsets = (await Promise.all(posts)).map((r) => Number(r.offset));
  assert.equal(new Set(offsets).size, offsets.length);
});

test('a client recovering on its node is replayed what both nodes stored while it was away, in order, once', async () => {
  const c = await connect(a, { transports: ['websocket'], reconnection: true, label: 'rec', io: slowReconnect(T(1500)) });
  await post(a, { company_id: 'c1', action: 'live', requestId: 'live-0' });
  await c.waitMsgs((m) => m.env.action === 'live', 1);
  dropTransport(c);
  await c.disconnectNo(1);
  await until(async () => (await metrics(a)).switchboard_realtime_sockets === 0, T(2000), 'the server to see the loss');
  // first on a, then a burst on both at once, the last on b: above a's own
  // newest commit, which the replay used to stop at
  const missed = [await post(a, { company_id: 'c1', action: 'missed', requestId: 'm-a' })];
  missed.push(...await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2 ? a : b,
    { company_id: 'c1', action: 'missed', requestId: `m-${i}` }))));
  missed.push(await post(b, { company_id: 'c1', action: 'missed', requestId: 'm-b' }));
  await post(b, { company_id: 'c2', action: 'other-company' });
  await c.until((x) => x.connects === 2, T(6000), 'the reconnection');
  assert.equal(c.socket.recovered, true);
  await c.waitMsgs((m) => m.env.action === 'missed', missed.length, { what: 'the replay' });
  const got = c.updates().filter((m) => m.env.action === 'missed').map((m) => Number(m.offset));
  const want = missed.map((r) => Number(r.offset)).sort((x, y) => x - y);
  assert.deepEqual(got, want, 'every one, in offset order, once');
  assert.equal(c.updates().filter((m) => m.env.action === 'other-company').length, 0);
  c.close();
});

// Another writer holds a company's row (its append lock) past the server's
// lock_timeout (4 s): that company's POST fails alone, in its unit (503,
// nothing delivered), while another company's POST, queued behind it, is
// stored and delivered; the company works again once the lock is gone.
// Outside a unit, the failed wait aborted the turn's whole transaction on
// PostgreSQL, and every other write that shared it.
test('a company\'s append lock held past lock_timeout fails that POST alone', { timeout: T(60000) }, async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only: SQLite has no row locks to hold');
    return;
  }
  await post(a, { company_id: 'held', action: 'first' });
  const c = await connect(a, { label: 'free-watch', token: mint({ company_id: 'free' }) });
  const holder = spawn('psql', ['-X', '-q', '-d', a.db, '-c',
    "BEGIN; SELECT 1 FROM realtime_streams WHERE company = 'held' FOR UPDATE; SELECT pg_sleep(6); COMMIT;"], { stdio: 'ignore' });
  const held = new Promise((resolve) => holder.on('exit', resolve));
  await sleep(500);
  const [blocked, free] = await Promise.all([
    postUpdate(a, { company_id: 'held', action: 'blocked', requestId: 'blocked' }),
    sleep(100).then(() => postUpdate(a, { company_id: 'free', action: 'free', requestId: 'free' })),
  ]);
  assert.equal(blocked.status, 503, blocked.text);
  assert.equal(free.status, 200, free.text);
  await c.waitMsgs((m) => m.env.action === 'free', 1);
  await held;
  assert.equal((await postUpdate(a, { company_id: 'held', action: 'again' })).status, 200);
  const rows = h.dbQuery(a, "SELECT envelope FROM realtime_updates WHERE company = 'held'");
  assert.ok(!rows.includes('"blocked"'), 'the failed one is not stored');
  c.close();
});
