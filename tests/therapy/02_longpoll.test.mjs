// 02_longpoll: getActions {wait} held until an action another user stores
// arrives (answered within ~200 ms of it, not at the timeout); a timeout
// answers `actions: []` with max_id unchanged; a private message does not wake
// a non-recipient; an aborted long poll (socket destroyed) leaves the server
// healthy; 200 concurrent waiters are all woken by one message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addGroup, browserIn, req, msg, checkActions, T, sleep,
} from './th.mjs';

let s; let g; let P; let D;
before(async () => {
  s = await startTherapy();
  g = addGroup(s.db, 3);
  D = await browserIn(s, g.therapist, g.ts, 'dr');
  P = [];
  for (const u of g.people) P.push(await browserIn(s, u, g.ts, u.name));
});
after(cleanup);

const head = async (b) => checkActions(await b.actions(0), 0).max_id;

test('a held getActions is answered right after another user saves', async () => {
  const last = await head(P[0]);
  const t0 = performance.now();
  const poll = P[0].actions(last, { wait: 5 });
  await sleep(T(700));
  const sent = performance.now();
  const r = await P[1].save([msg(P[1].user, 'wake up')]);
  assert.equal(r.status, 200);
  const a = await poll;
  const done = performance.now();
  const j = checkActions(a, last);
  assert.deepEqual(j.actions.map((x) => x.id), r.json.ids);
  assert.equal(j.actions[0].body, 'wake up');
  assert.equal(j.max_id, r.json.ids[0]);
  assert.ok(sent - t0 >= T(650), 'it was held');
  assert.ok(done - sent < T(200) + 100, `answered ${Math.round(done - sent)} ms after the save`);
});

test('a long poll that times out answers [] with max_id unchanged', async () => {
  const last = await head(P[0]);
  const t0 = performance.now();
  const a = await P[0].actions(last, { wait: 1 });
  const ms = performance.now() - t0;
  const j = checkActions(a, last);
  assert.deepEqual(j.actions, []);
  assert.equal(j.max_id, last);
  assert.ok(ms >= 950 && ms < T(2500), `held ${Math.round(ms)} ms`);
});

test('a private message does not wake a non-recipient; it wakes the recipient', async () => {
  const last = await head(P[2]);
  const held = performance.now();
  const outsider = P[2].actions(last, { wait: 2 });
  const recipient = P[1].actions(await head(P[1]), { wait: 5 });
  await sleep(T(300));
  const t0 = performance.now();
  const r = await D.save([msg(D.user, 'for P1 only', { recipients: [P[1].user] })]);
  assert.equal(r.status, 200);
  const rr = checkActions(await recipient, 0);
  assert.ok(performance.now() - t0 < T(300) + 100);
  assert.deepEqual(rr.actions.map((x) => x.body), ['for P1 only']);
  const o = checkActions(await outsider, last);
  assert.deepEqual(o.actions, [], 'the outsider waits to its timeout and sees nothing');
  assert.ok(performance.now() - held > 1900, 'held to its 2 s timeout (a server time: not scaled)');
  assert.ok(!(await P[2].actions(0)).text.includes('for P1 only'));
});

test('an aborted long poll leaves the server healthy', async () => {
  const last = await head(P[0]);
  for (let i = 0; i < 5; i++) {
    const ac = new AbortController();
    const p = P[0].actions(last, { wait: 5, signal: ac.signal }).catch((e) => e);
    await sleep(50);
    ac.abort();
    assert.ok((await p) instanceof Error);
  }
  await sleep(100);
  const poll = P[0].actions(last, { wait: 5 });
  await sleep(100);
  const r = await P[1].save([msg(P[1].user, 'after aborts')]);
  const j = checkActions(await poll, last);
  assert.deepEqual(j.actions.map((x) => x.id), r.json.ids);
  const h = await req(s, '/healthz', { method: 'GET' });
  assert.equal(h.status, 200);
  assert.equal(s.exitCode, undefined);
});

test('200 concurrent waiters are all woken by one message', async () => {
  const last = await head(P[0]);
  const who = [P[0], P[2], D];
  const polls = [];
  // in waves of 50: the runtime refuses more than 128 connections from one
  // address that have not yet sent a whole request head (slowloris guard)
  for (let i = 0; i < 200; i++) {
    polls.push(who[i % 3].actions(last, { wait: 10 }));
    if (i % 50 === 49) await sleep(T(150));
  }
  await sleep(T(800));
  const t0 = performance.now();
  const r = await P[1].save([msg(P[1].user, 'to all 200')]);
  assert.equal(r.status, 200);
  const answers = await Promise.all(polls);
  const ms = performance.now() - t0;
  for (const a of answers) {
    const j = checkActions(a, last);
    assert.deepEqual(j.actions.map((x) => x.id), r.json.ids);
  }
  assert.ok(ms < T(2000), `all answered in ${Math.round(ms)} ms`);
});
