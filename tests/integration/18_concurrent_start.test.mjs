// 18_concurrent_start: several nodes started at the same instant on one fresh
// database (issue 11), with --demo. Each module's migration runs once (SQLite:
// each step under BEGIN IMMEDIATE with the version read inside it;
// PostgreSQL: under the advisory lock), the files beside the database (the
// realtime JWT secret, the dashboard's operator-key, the demo copies) are
// made by one node and read by the others, and each demo is seeded once.
// Every node comes up and serves a chat login, a realtime handshake and a
// dashboard init_data. Ten rounds, a fresh database each (docs/decisions.md,
// "Several nodes starting at once").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';
import { socket, token } from '../realtime/rt.mjs';
import { session, openDashboard } from '../dashboard/dh.mjs';

const NODES = 3;
const ROUNDS = 10;

after(h.cleanup);

const one = (s, sql) => h.dbQuery(s, sql).trim();

// the migrations a single node leaves: each module at its newest version
let reference;
test('one node alone: the reference migrations', async () => {
  const s = await h.startServer({ tag: 'start1' });
  reference = one(s, 'SELECT module, version FROM sb_migrations ORDER BY module');
  assert.ok(reference.split('\n').length >= 5, reference);
  await s.stop();
});

async function realtimeHandshake(s, secret) {
  const sock = socket(s, { tok: token({}, { secret }) });
  try {
    await h.withTimeout(new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('connect_error', (e) => reject(new Error(`realtime on :${s.port}: ${e.message}`)));
    }), h.T(5000), 'realtime connect');
  } finally {
    sock.close();
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  test(`round ${round}: ${NODES} nodes at once on a fresh database`, async () => {
    const dir = h.tempDir(`start${round}`);
    // the same dir: the same SQLite file, or (SB_TEST_DB=postgres) the same
    // database, made by the first call before any of them spawns
    const nodes = await Promise.all(Array.from({ length: NODES }, () => h.startServer({ dir })));
    try {
      for (const s of nodes) {
        assert.doesNotMatch(s.stderr, /level=error|could not/, `node :${s.port}:\n${s.stderr}`);
      }
      assert.equal(one(nodes[0], 'SELECT module, version FROM sb_migrations ORDER BY module'), reference);

      // each demo seeded once, by one node
      const printed = (what) => nodes.filter((s) => s.stdout.includes(what)).length;
      assert.equal(printed('Demo users'), 1, 'chat demo printed once');
      assert.equal(printed('Therapy demo'), 1, 'therapy demo printed once');
      assert.equal(printed('Dashboard demo'), 1, 'dashboard demo printed once');
      assert.equal(printed('Realtime (Socket.IO'), 1, 'realtime demo printed once');
      assert.equal(one(nodes[0], 'SELECT count(*) FROM chat_users'), '6');
      assert.equal(one(nodes[0], 'SELECT count(*) FROM chat_rooms'), '1');
      assert.equal(one(nodes[0], 'SELECT count(*) FROM therapy_users'), '3');
      assert.equal(one(nodes[0], 'SELECT count(*) FROM therapy_sessions'), '1');
      assert.equal(one(nodes[0], "SELECT count(*) FROM core_api_keys WHERE name = 'demo'"), '1');
      assert.equal(one(nodes[0], "SELECT count(*) FROM core_api_keys WHERE name LIKE 'demo-operator%'"), '1');
      assert.equal(one(nodes[0], "SELECT count(*) FROM dashboard_data WHERE case_id = '1'"), '2');
      assert.equal(one(nodes[0], "SELECT count(*) FROM dashboard_views WHERE case_id = '1'"), '2');

      // the files beside the database: whole, 0600, one of each
      const secret = fs.readFileSync(path.join(dir, 'jwt-secret'), 'utf8').trim();
      const opKey = fs.readFileSync(path.join(dir, 'operator-key'), 'utf8').trim();
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.match(opKey, /^sbk_[0-9a-f]{64}$/);
      for (const f of ['jwt-secret', 'operator-key', 'demo-tokens.txt', 'demo-realtime.txt']) {
        assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
      }
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
      const users = h.demoUsers(dir);

      // every node serves each protocol
      for (const s of nodes) {
        const c = await h.login(s, users.alice, `alice@${s.port}`);
        c.close();
        await realtimeHandshake(s, secret);
        const fin = await session(s, opKey, '1', '1');
        const d = await openDashboard(s, '1', fin, '1');
        d.close();
      }
    } finally {
      await Promise.all(nodes.map((s) => s.stop()));
    }
  });
}
