// 24_nodes: two switchboard processes (nodes) on one database, as behind a
// load balancer. A company's offsets are handed out in the order its UPDATEs
// commit, whichever node stores them (each append locks the company's row
// first), and a client that recovers on one node is replayed what both nodes
// stored for its company after its offset, in offset order, once
// (docs/decisions.md, "PostgreSQL engine", realtime). Recovery records (the
// pid's hash) are in the database: a client whose node was killed with -9
// recovers on another node (docs/decisions.md, realtime, "Recovery records").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
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

/**
 * A client on node x (recovery on, subscribed to artifact 'doc'), then x
 * killed with SIGKILL: no "session lost" code runs there. The client's next
 * reconnection goes to y (its URI moved, as nginx would send it elsewhere).
 */
async function clientOnKilledNode(x, y, label) {
  const c = await connect(x, {
    transports: ['websocket'], reconnection: true, label, io: slowReconnect(T(1500)), token: mint({ artifacts: '*' }),
  });
  await post(x, { company_id: 'c1', action: 'live', requestId: `${label}-live` });
  await c.waitMsgs((m) => m.env.action === 'live', 1);
  assert.equal((await c.ask('subscribeArtifact', { artifactId: 'doc' })).type, 'RESPONSE');
  const pid = c.socket._pid;
  const offset = c.socket._lastOffset;
  await x.stop('SIGKILL');
  c.socket.io.uri = y.base;
  await c.disconnectNo(1);
  return { c, pid, offset };
}

const pidHash = (pid) => crypto.createHash('sha256').update(pid).digest('hex');

test('kill -9 of the client\'s node: it recovers on the other node, every UPDATE posted meanwhile replayed once in order', { timeout: T(30000) }, async () => {
  const x = await startRt();
  const y = await startRt({ dir: x.dir });
  const { c, pid } = await clientOnKilledNode(x, y, 'moved');
  // the record is the pid's SHA-256, never the pid
  const rows = h.dbQuery(y, 'SELECT pid_hash, subs FROM realtime_recovery');
  assert.ok(rows.includes(pidHash(pid)), rows);
  assert.ok(!rows.includes(pid), 'the pid is not stored in clear');
  const missed = [];
  for (const body of [
    { company_id: 'c1', action: 'missed', requestId: 'm-1' },
    { company_id: 'c1', artifact_id: 'doc', action: 'missed', requestId: 'm-doc' },
    { company_id: 'c1', artifact_id: 'not-followed', action: 'foreign', requestId: 'f-1' },
    { company_id: 'c2', action: 'foreign', requestId: 'f-2' },
    { company_id: 'c1', action: 'missed', requestId: 'm-2' },
  ]) {
    const r = await post(y, body);
    if (body.action === 'missed') missed.push(r);
  }
  await c.until((z) => z.connects === 2 || z.connectErrors.length, T(8000), 'the reconnection to the other node');
  assert.deepEqual(c.connectErrors.map((e) => e.message), []);
  assert.equal(c.socket.recovered, true, 'recovered on the other node');
  assert.equal(c.socket._pid, pid, 'the same pid');
  await c.waitMsgs((m) => m.env.action === 'missed', missed.length, { what: 'the replay' });
  const after = await post(y, { company_id: 'c1', action: 'after', requestId: 'after' });
  assert.equal(after.delivered, 1);
  await c.waitMsgs((m) => m.env.action === 'after', 1);
  await sleep(150);
  assert.deepEqual(c.updates().map((m) => m.env.requestId), ['moved-live', 'm-1', 'm-doc', 'm-2', 'after'], 'once each, in order, nothing foreign');
  assert.deepEqual(c.updates().slice(1, 4).map((m) => m.offset), missed.map((r) => r.offset));
  assert.deepEqual((await c.ask('whoami')).data.subscriptions, ['doc'], 'the subscription came with the record');
  assert.equal((await metrics(y)).switchboard_realtime_recovered_total, 1);
  c.close();
});

test('a pid recovered on one node: another user\'s token recovers nothing; after its goodbye, the node killed and restarted does not recover it again', { timeout: T(30000) }, async () => {
  const x = await startRt();
  const y = await startRt({ dir: x.dir });
  const { c, pid, offset } = await clientOnKilledNode(x, y, 'owner');
  await post(y, { company_id: 'c1', action: 'missed', requestId: 'missed' });
  // another user, same company and session, presenting the pid: refused recovery, and the record is not burnt
  const thief = await connect(y, { transports: ['websocket'], label: 'thief', token: mint({ sub: 'u2' }), auth: { pid, offset } });
  assert.notEqual(thief.socket._pid, pid, 'a fresh pid, not the presented one');
  await sleep(200);
  assert.deepEqual(thief.updates().map((m) => m.env.requestId), [], 'nothing replayed to another user');
  thief.close();
  await c.until((z) => z.connects === 2, T(8000), 'the owner\'s reconnection');
  assert.equal(c.socket.recovered, true, 'the owner still recovers');
  await c.waitMsgs((m) => m.env.action === 'missed', 1);
  // a goodbye on y: the record goes; the pid is not recovered on x, restarted on the same database
  c.close();
  await until(async () => (await metrics(y)).switchboard_realtime_sockets === 0, T(2000), 'the goodbye');
  assert.equal(h.dbQuery(y, `SELECT count(*) FROM realtime_recovery WHERE pid_hash = '${pidHash(pid)}'`).trim(), '0');
  const x2 = await startRt({ dir: x.dir });
  await post(x2, { company_id: 'c1', action: 'missed-again', requestId: 'missed-again' });
  const again = await connect(x2, { transports: ['websocket'], label: 'again', token: mint({ artifacts: '*' }), auth: { pid, offset } });
  assert.notEqual(again.socket._pid, pid);
  await sleep(200);
  assert.deepEqual(again.updates().map((m) => m.env.requestId), []);
  assert.equal((await metrics(x2)).switchboard_realtime_recovered_total, 0);
  again.close();
});

test('a killed node\'s record past its window (the node\'s last heartbeat + the window) is not recovered', { timeout: T(30000) }, async () => {
  const x = await startRt();
  const y = await startRt({ dir: x.dir });
  const { c } = await clientOnKilledNode(x, y, 'late');
  await post(y, { company_id: 'c1', action: 'missed', requestId: 'missed' });
  // as if the window had passed since the killed node last beat (records
  // written at CONNECT carry their own end until the node's first heartbeat)
  h.dbQuery(y, 'UPDATE realtime_recovery SET expires_ms = 0');
  h.dbQuery(y, 'UPDATE realtime_nodes SET alive_ms = 0');
  await c.until((z) => z.connects === 2, T(8000), 'the reconnection');
  assert.ok(!c.socket.recovered, `recovered is ${c.socket.recovered}`);
  await post(y, { company_id: 'c1', action: 'after', requestId: 'after' });
  await c.waitMsgs((m) => m.env.action === 'after', 1);
  await sleep(150);
  assert.deepEqual(c.updates().map((m) => m.env.requestId), ['late-live', 'after']);
  assert.equal((await metrics(y)).switchboard_realtime_recovered_total, 0);
  c.close();
});
