// 07_crash_persist: durability of the therapy tables.
// Crash: 20 clients each send saveActions batches of 5 messages with distinct
// bodies; the server is killed with SIGKILL mid-burst; after a restart on the
// same DB every batch answered 200 is fully present, every batch is either
// fully present or fully absent (all or nothing per request), in consecutive
// ids, and PRAGMA integrity_check is ok. Persistence: a session (cookie, CSRF
// token, current therapy session) survives a restart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addGroup, browserIn, msg, checkActions, sqlite, engine, T, sleep, tempDir,
} from './th.mjs';

after(cleanup);

/** every action the browser can see, paging by max_id (1000 a call) */
async function everything(b) {
  const out = [];
  let last = 0;
  for (;;) {
    const j = checkActions(await b.actions(last), last);
    out.push(...j.actions);
    if (j.max_id === last) return out;
    last = j.max_id;
  }
}

test('SIGKILL during a burst of saveActions: answered batches kept, each batch all or nothing', async () => {
  const dir = tempDir('therapy-crash');
  let s = await startTherapy({ dir });
  const g = addGroup(s.db, 20);
  const clients = await Promise.all(g.people.map((u) => browserIn(s, u, g.ts)));
  const reader = await browserIn(s, g.therapist, g.ts, 'dr');
  const sent = new Map(); // batch key -> {bodies, ok}
  let stop = false;
  const loops = clients.map(async (c, i) => {
    for (let k = 0; !stop; k++) {
      const key = `c${i}-b${k}`;
      const bodies = Array.from({ length: 5 }, (_, j) => `${key}-m${j}`);
      const entry = { bodies, ok: false };
      sent.set(key, entry);
      try {
        const r = await c.save(bodies.map((body) => msg(c.user, body)));
        if (r.status === 200) {
          entry.ok = true;
          entry.ids = r.json.ids;
        }
      } catch { return; /* the server is gone */ }
    }
  });
  // kill once a good number of batches are through
  const t0 = Date.now();
  while ([...sent.values()].filter((e) => e.ok).length < 100 && Date.now() - t0 < T(10000)) await sleep(5);
  process.kill(s.pid, 'SIGKILL');
  stop = true;
  await s.exited;
  await Promise.all(loops);
  const okCount = [...sent.values()].filter((e) => e.ok).length;
  assert.ok(okCount >= 100, `${okCount} batches answered before the kill`);
  if (engine === 'sqlite') assert.equal(sqlite(s.db, 'PRAGMA integrity_check;').trim(), 'ok'); // the file's own check

  s = await startTherapy({ dir });
  for (const b of [reader, ...clients]) b.server = s; // a new port
  const all = await everything(reader); // the old cookie still works
  const byBody = new Map(all.filter((a) => a.type === 'message').map((a) => [a.body, a]));
  assert.equal(byBody.size, all.filter((a) => a.type === 'message').length, 'no body stored twice');
  let present = 0; let absent = 0;
  for (const [key, e] of sent) {
    const found = e.bodies.filter((body) => byBody.has(body));
    if (e.ok) assert.equal(found.length, 5, `batch ${key} was answered 200 but ${found.length}/5 are stored`);
    assert.ok(found.length === 0 || found.length === 5, `batch ${key}: ${found.length}/5 stored`);
    if (found.length === 5) {
      present++;
      const ids = e.bodies.map((body) => byBody.get(body).id);
      for (let j = 1; j < 5; j++) assert.equal(ids[j], ids[0] + j, `batch ${key} in consecutive ids`);
      if (e.ok) assert.deepEqual(ids, e.ids);
    } else absent++;
  }
  assert.ok(present >= okCount);
  // the server works on after the restart
  const more = await clients[0].save([msg(clients[0].user, 'after the crash')]);
  assert.equal(more.status, 200, more.text);
  assert.ok(more.json.ids[0] > Math.max(...all.map((a) => a.id)));
  await s.stop('SIGTERM');
  if (engine === 'sqlite') assert.equal(sqlite(s.db, 'PRAGMA integrity_check;').trim(), 'ok'); // the file's own check
  console.log(`${okCount} batches answered, ${present} present, ${absent} absent`);
});

test('a session survives a restart: same cookie, same CSRF token, same therapy session', async () => {
  const dir = tempDir('therapy-persist');
  let s = await startTherapy({ dir });
  const g = addGroup(s.db, 2);
  const a = await browserIn(s, g.people[0], g.ts);
  const b = await browserIn(s, g.people[1]);
  const sent = await a.save([msg(a.user, 'before restart')]);
  assert.equal(sent.status, 200);
  await s.stop('SIGTERM');
  s = await startTherapy({ dir });
  a.server = s; b.server = s;
  const me = await a.get('session');
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.csrf_token, a.csrf);
  assert.equal(me.json.ts_id, g.ts);
  const j = checkActions(await a.actions(0), 0);
  assert.deepEqual(j.actions.map((x) => x.body), ['before restart']);
  const again = await a.save([msg(a.user, 'after restart')]);
  assert.equal(again.status, 200, again.text);
  // b had not entered a session: still so
  assert.equal((await b.get('session')).json.ts_id, undefined);
  assert.equal((await b.post('getActions', { last_action_id: 0 })).status, 409);
});
