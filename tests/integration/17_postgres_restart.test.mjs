// 17_postgres_restart: the PostgreSQL server going away under a running
// switchboard and coming back (a restart, a failover). While it is down every
// write is refused at once, /healthz says why
// ("postgres unreachable: ..."), the rest of the server goes on; once it is
// back the server reconnects by itself (on its loop, with backoff) and
// stores again. The cluster is the test's own (tests/support/pg_cluster.sh):
// the run's shared one must not restart under the other suites. PostgreSQL
// only; the password in the URL never reaches a log or an error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';

const CLUSTER = path.join(h.ROOT, 'tests', 'support', 'pg_cluster.sh');
const SECRET = 's3cret-pw';
let cdir;

after(async () => {
  // the cluster first: cleanup() removes the directory that says where it is
  if (cdir) {
    try { execFileSync('bash', [CLUSTER, 'stop', cdir], { stdio: 'ignore', timeout: h.T(60000) }); } catch { /* gone */ }
  }
  await h.cleanup();
});

const cluster = (cmd) => execFileSync('bash', [CLUSTER, cmd, cdir], { encoding: 'utf8', timeout: h.T(60000) });
const health = async (s) => {
  const r = await h.request(s, '/healthz');
  return { status: r.status, body: r.json };
};

test('PostgreSQL restarted under a running server: clear errors while down, then recovery', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  cdir = h.tempDir('pgown');
  cluster('start');
  const base = fs.readFileSync(path.join(cdir, 'url'), 'utf8').trim();
  execFileSync('psql', ['-X', '-q', '-d', `${base}postgres`, '-c', 'CREATE DATABASE restart TEMPLATE template0'],
    { timeout: h.T(20000) });
  const dir = h.tempDir('pgrestart');
  // a password in the URL (trust authentication ignores it): never logged
  const url = `${base.replace('://sb@', `://sb:${SECRET}@`)}restart`;
  fs.writeFileSync(path.join(dir, 'pg-url.txt'), url); // startServer's database for this dir
  const s = await h.startServer({ dir });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  const before = await alice.ask({ action: 'send_message', room_id: '1', text: 'before' }, h.isNewMessage((m) => m.text === 'before'));
  assert.equal((await health(s)).status, 200);
  const staff = Object.values(u).filter((x) => x.id !== u.alice.id && ['TECHNICIAN', 'ADMIN', 'SUPER_ADMIN'].includes(x.role));

  cluster('down');
  // noticed on the loop, with no request in flight
  await h.until(() => /event=postgres_lost/.test(s.stderr), h.T(5000), 'the lost connection logged');
  const down = await health(s);
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'degraded');
  assert.match(down.body.reason, /^postgres unreachable: /);
  assert.equal((await h.metrics(s)).switchboard_healthy, 0);
  // a write is refused at once; the server goes on
  const t0 = Date.now();
  const err = await alice.ask({ action: 'send_message', room_id: '1', text: 'during' },
    (m) => m.type === 'error' || m.type === 'new_message');
  // refused with the storage error: the room's read failed, which is no
  // "Room not found" (the room is there)
  assert.equal(err.type, 'error', JSON.stringify(err));
  assert.equal(err.error, 'Message could not be stored', JSON.stringify(err));
  assert.ok(Date.now() - t0 < h.T(1000), `refused in ${Date.now() - t0} ms`);
  // every action whose read fails answers the same, never "not found"
  const actions = [
    { action: 'send_message', receiver_id: staff[0]?.id ?? '2', text: 'direct during' },
    { action: 'send_message', room_id: '1', text: 'reply during', replied_to_id: before.data.message.id },
    { action: 'mark_delivered', message_id: before.data.message.id },
    { action: 'mark_read', message_id: before.data.message.id },
    { action: 'new_room', room_id: '1' },
  ];
  for (const a of actions) {
    const r = await alice.ask(a, (m) => m.type !== 'heartbeat_response');
    assert.deepEqual([r.type, r.error], ['error', 'Message could not be stored'], `${JSON.stringify(a)}: ${JSON.stringify(r)}`);
  }
  await alice.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  // REST: 503, not 401 or 404
  for (const p of ['/api/v1/rooms', '/api/v1/rooms/1/messages']) {
    const r = await h.request(s, p, { headers: h.bearer(u.alice.token) });
    assert.equal(r.status, 503, `${p}: ${r.text}`);
  }
  // a new chat socket: the storage error and 1013 (try again), not the
  // authentication failure's 1008, after which a client gives up
  const late = await h.connect(s, { token: u.alice.token, label: 'late' });
  const closed = await late.waitClose();
  assert.equal(closed.code, 1013, JSON.stringify(late.messages));
  assert.equal(late.messages[0]?.error, 'Message could not be stored', JSON.stringify(late.messages));
  // a tool on the same URL says what is wrong, without the password
  let cli;
  try {
    execFileSync(h.BIN, ['apikey', 'list', '--db', url], { encoding: 'utf8', stdio: 'pipe', timeout: h.T(20000) });
  } catch (e) {
    cli = e;
  }
  assert.ok(cli, 'apikey list fails while PostgreSQL is down');
  assert.match(cli.stderr, /postgres:\/\/127\.0\.0\.1:\d+\/restart: .*(refused|No such file|failed)/);
  assert.ok(!cli.stderr.includes(SECRET));

  cluster('up');
  await h.until(async () => (await health(s)).status === 200, h.T(15000), '/healthz 200 again');
  assert.match(s.stderr, /event=postgres_reconnected/);
  const ok = await alice.ask({ action: 'send_message', room_id: '1', text: 'after' },
    (m) => m.type === 'error' || m.type === 'new_message');
  assert.equal(ok.type, 'new_message', JSON.stringify(ok));
  assert.deepEqual(h.dbQuery(s, 'SELECT text FROM chat_messages WHERE room_id = 1 ORDER BY id').trim().split('\n'),
    ['before', 'after']);
  assert.equal((await h.metrics(s)).switchboard_healthy, 1);
  assert.ok(!s.stderr.includes(SECRET), 'the password is in the log');
  assert.ok(!s.stdout.includes(SECRET), 'the password is on stdout');
  // and it stops cleanly, nothing leaked (the sanitizers' builds say so at exit)
  const ex = await s.stop('SIGTERM');
  assert.equal(ex.code, 0);
  assert.deepEqual(h.sanitizerReports(s), []);
});

// A statement waits on the loop (handlers are synchronous), so every wait is
// bounded: a table another session keeps locked makes a write wait
// lock_timeout (4 s), then it is refused (its unit, or its turn, rolled back), and the
// server goes on; once the lock is gone, writes are stored again.
test('a table locked by another session: the write waits lock_timeout (4 s), is refused, and the server goes on', async (t) => {
  if (h.engine !== 'postgres') {
    t.skip('PostgreSQL only (SB_TEST_DB=postgres)');
    return;
  }
  const s = await h.startServer({ tag: 'pglock' });
  const u = s.users;
  const alice = await h.login(s, u.alice, 'alice');
  await alice.ask({ action: 'send_message', room_id: '1', text: 'before' }, h.isNewMessage((m) => m.text === 'before'));
  const locker = spawn('psql', ['-X', '-q', '-d', s.db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  locker.stdout.on('data', (d) => { out += d; });
  locker.stdin.write("BEGIN;\nLOCK TABLE chat_messages IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n");
  await h.until(() => out.includes('locked'), h.T(5000), 'the other session holds the lock');
  const t0 = Date.now();
  const from = alice.mark();
  alice.send({ action: 'send_message', room_id: '1', text: 'during' });
  const err = await alice.waitFor((m) => m.type === 'error' || m.type === 'new_message',
    { from, ms: h.T(15000), what: 'the answer to the send while locked' });
  const waited = Date.now() - t0;
  assert.equal(err.type, 'error', JSON.stringify(err));
  assert.ok(waited >= 3500 && waited < h.T(9000), `waited ${waited} ms (lock_timeout is 4 s)`);
  assert.match(s.stderr, /sqlstate=(55P03|57014)/); // lock_timeout (4 s), else statement_timeout (5 s)
  locker.stdin.end('COMMIT;\n');
  await new Promise((r) => locker.on('exit', r));
  await alice.ask({ action: 'heartbeat' }, h.isType('heartbeat_response'));
  const ok = await alice.ask({ action: 'send_message', room_id: '1', text: 'after' },
    (m) => m.type === 'error' || m.type === 'new_message');
  assert.equal(ok.type, 'new_message', JSON.stringify(ok));
  assert.deepEqual(h.dbQuery(s, 'SELECT text FROM chat_messages WHERE room_id = 1 ORDER BY id').trim().split('\n'),
    ['before', 'after']);
  assert.equal((await h.request(s, '/healthz')).status, 200);
});
