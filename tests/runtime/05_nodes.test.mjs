// 05_nodes: two processes (nodes) on one database, each with its own group
// commit, as behind a load balancer. Their turns' transactions overlap (a
// commit window keeps each open a while), their writes interleave, and some
// go to one row both update: every write acknowledged ("stored K") is in the
// database, and none refused is. On SQLite the second process may find the write lock taken (its
// writes are then refused, never half-stored); on PostgreSQL a row one node
// holds makes the other wait, and every write is stored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from '../integration/harness.mjs';
import { startRt, connect, cleanup, T } from './rt_harness.mjs';

after(cleanup);

test('two nodes on one database: interleaved and contended writes, each acknowledged one stored', async () => {
  const args = ['--commit-window', '5000'];
  const a = await startRt(args, 'nodes');
  const b = await startRt(args, 'nodes', a.dir);
  assert.equal(b.db, a.db);
  const clients = [];
  for (const [s, node] of [[a, 'a'], [b, 'b']]) {
    for (let j = 0; j < 3; j++) clients.push({ c: await connect(s, '', `${node}${j}`), tag: `${node}${j}` });
  }
  const N = 50;
  const sent = new Map(); // client -> keys, in order
  for (const { c, tag } of clients) sent.set(c, []);
  for (let i = 0; i < N; i++) {
    for (const { c, tag } of clients) {
      const k = i % 10 === 5 ? `shared-${tag}-${i}` : `${tag}-${i}`;
      c.send(`write ${k}`);
      sent.get(c).push(k);
      if (i % 10 === 5) c.send('write shared'); // one row every node updates
    }
  }
  const answered = (f) => /^(stored|failed) \S+$|^storage error$/.test(f.text);
  const acked = new Set();
  const refused = [];
  for (const { c } of clients) {
    const want = sent.get(c).length + N / 10;
    await h.until(() => c.frames.filter((f) => !f.binary && answered(f)).length >= want, T(30000),
      `${c.label}: an answer to each of ${want} writes`);
    for (const t of c.texts()) {
      const m = /^stored (\S+)$/.exec(t);
      if (m) acked.add(m[1]);
      else if (answered({ text: t })) refused.push(t);
    }
  }
  const rows = new Set(h.dbQuery(a, 'SELECT k FROM t_rows').split('\n').filter(Boolean));
  for (const k of acked) assert.ok(rows.has(k), `"stored ${k}" was answered, and the row is missing`);
  // a refused write is not stored (the turn's other writes may be: each has its own savepoint)
  for (const { c } of clients) {
    for (const k of sent.get(c)) if (!acked.has(k)) assert.ok(!rows.has(k), `${k} was refused, and stored`);
  }
  if (h.engine === 'postgres') {
    assert.deepEqual(refused, [], 'on PostgreSQL no write is refused');
    assert.equal(acked.size, clients.length * N + 1);
  } else {
    assert.ok(acked.size > 0, 'some writes stored');
  }
});
