// 05_operator: the operator endpoints (Authorization: Bearer <apikey>).
// 401 without or with a wrong/revoked key (and a session cookie is no key);
// notice / signal / assessment stored as actions, delivered through getActions
// and waking long polls; recipients-limited notices and signals only to them;
// an assessment change updates getTherapySessionAssessments and the home page
// and sends update_assessments to that participant only; unknown ts_id,
// p_id or recipient -> 404 NOT_FOUND; nothing stored on a refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  startTherapy, cleanup, addGroup, browserIn, req, API, isError, checkActions, BIN, T, sleep,
} from './th.mjs';

let s; let g; let key; let P; let D;
const op = (name, body, k = key) => req(s, `${API}/operator/${name}`, { body, headers: k === null ? {} : { Authorization: `Bearer ${k}` } });

before(async () => {
  s = await startTherapy();
  g = addGroup(s.db, 3, { assessments: ['intake:incomplete:https://example.com/intake'] });
  key = execFileSync(BIN, ['apikey', 'add', '--name', 'ops', '--db', s.db], { encoding: 'utf8' }).trim().split('\t')[2];
  assert.match(key, /\S{20,}/);
  P = [];
  for (const u of g.people) P.push(await browserIn(s, u, g.ts, u.name));
  D = await browserIn(s, g.therapist, g.ts, 'dr');
});
after(cleanup);

const head = async (b) => checkActions(await b.actions(0), 0).max_id;

test('401 without a key, with a wrong one, with a revoked one, with a session cookie', async () => {
  const last = await head(P[0]);
  const bodies = {
    notice: { ts_id: g.ts, body: 'x' },
    signal: { ts_id: g.ts, type: 'whiteboard' },
    assessment: { ts_id: g.ts, p_id: g.people[0].id, name: 'n', status: 'complete' },
  };
  const other = execFileSync(BIN, ['apikey', 'add', '--name', 'gone', '--db', s.db], { encoding: 'utf8' }).trim().split('\t')[2];
  execFileSync(BIN, ['apikey', 'revoke', '--name', 'gone', '--db', s.db]);
  for (const [name, body] of Object.entries(bodies)) {
    isError(await op(name, body, null), 'AUTH_REQUIRED');
    isError(await op(name, body, `${key}x`), 'AUTH_REQUIRED');
    isError(await op(name, body, 'not-a-key'), 'AUTH_REQUIRED');
    isError(await op(name, body, other), 'AUTH_REQUIRED');
    isError(await req(s, `${API}/operator/${name}`, { body, headers: { Cookie: `sb_therapy=${D.cookie}`, 'X-CSRF-Token': D.csrf } }), 'AUTH_REQUIRED');
    isError(await req(s, `${API}/operator/${name}`, { body, headers: { Authorization: `Basic ${key}` } }), 'AUTH_REQUIRED');
  }
  assert.deepEqual(checkActions(await P[0].actions(last), last).actions, []);
});

test('notice and signals: stored, delivered, waking long polls', async () => {
  const last = await head(P[0]);
  const poll = P[0].actions(last, { wait: 5 });
  await sleep(T(200));
  const t0 = performance.now();
  const n = await op('notice', { ts_id: g.ts, body: 'Foo has left the session' });
  assert.equal(n.status, 200, n.text);
  assert.deepEqual(Object.keys(n.json), ['result', 'id']);
  assert.equal(n.json.result, 'ok');
  const woke = checkActions(await poll, last);
  assert.ok(performance.now() - t0 < T(300) + 100);
  assert.deepEqual({ ...woke.actions[0], timestamp: 0 }, { id: n.json.id, type: 'notice', body: 'Foo has left the session', sender: 'system', recipients: [], timestamp: 0 });
  const t = await op('notice', { ts_id: g.ts, body: 'From the therapist', sender: 'Therapist' });
  const ids = [t.json.id];
  for (const type of ['whiteboard', 'update_assessments', 'update_chat_details']) {
    const r = await op('signal', { ts_id: g.ts, type });
    assert.equal(r.status, 200, r.text);
    ids.push(r.json.id);
  }
  for (const b of [P[1], D]) {
    const j = checkActions(await b.actions(n.json.id), n.json.id);
    assert.deepEqual(j.actions.map((a) => a.id), ids);
    assert.deepEqual(j.actions.map((a) => a.type), ['notice', 'whiteboard', 'update_assessments', 'update_chat_details']);
    assert.equal(j.actions[0].sender, 'Therapist');
    for (const a of j.actions.slice(1)) assert.deepEqual(Object.keys(a), ['id', 'type', 'timestamp']);
  }
});

test('recipients-limited notices and signals reach only them', async () => {
  const starts = await Promise.all([...P, D].map(head));
  const n = await op('notice', { ts_id: g.ts, body: 'only for P0 and P1', recipients: [g.people[0].id, g.people[1].id] });
  assert.equal(n.status, 200, n.text);
  const sg = await op('signal', { ts_id: g.ts, type: 'whiteboard', recipients: [g.people[2].id] });
  assert.equal(sg.status, 200, sg.text);
  const seen = await Promise.all([...P, D].map(async (b, i) => checkActions(await b.actions(starts[i]), starts[i]).actions));
  assert.deepEqual(seen[0].map((a) => a.id), [n.json.id]);
  assert.deepEqual(seen[0][0].recipients, [g.people[0].id, g.people[1].id]);
  assert.deepEqual(seen[1].map((a) => a.id), [n.json.id]);
  assert.deepEqual(seen[2].map((a) => a.id), [sg.json.id]);
  assert.deepEqual(seen[3], [], 'the therapist is not a recipient');
  // a recipient who is not in the session: 404, nothing stored
  isError(await op('notice', { ts_id: g.ts, body: 'x', recipients: ['NOBODY'] }), 'NOT_FOUND', { detail: 'recipients' });
  isError(await op('signal', { ts_id: g.ts, type: 'whiteboard', recipients: [g.people[0].id, 'NOBODY'] }), 'NOT_FOUND');
  assert.deepEqual(checkActions(await D.actions(0), 0).max_id, sg.json.id);
});

test('assessment change: updates the lists, update_assessments to that participant only', async () => {
  const p = g.people[0];
  const starts = await Promise.all([...P, D].map(head));
  const poll = P[0].actions(starts[0], { wait: 5 });
  const other = P[1].actions(starts[1], { wait: 1 });
  await sleep(T(200));
  const a = await op('assessment', { ts_id: g.ts, p_id: p.id, name: 'intake', status: 'complete' });
  assert.equal(a.status, 200, a.text);
  const b = await op('assessment', { ts_id: g.ts, p_id: p.id, name: 'post-session_survey', status: 'incomplete', url: 'https://example.com/post?ts=1' });
  assert.equal(b.status, 200, b.text);
  const woke = checkActions(await poll, starts[0]);
  assert.deepEqual({ ...woke.actions[0], timestamp: 0 }, { id: a.json.id, type: 'update_assessments', timestamp: 0 });
  assert.deepEqual(checkActions(await other, starts[1]).actions, []);
  const mine = await P[0].post('getTherapySessionAssessments', { ts_id: g.ts, p_id: p.id });
  assert.deepEqual(mine.json, { result: 'ok', assessments: [
    { name: 'intake', status: 'complete' },
    { name: 'post-session_survey', status: 'incomplete', url: 'https://example.com/post?ts=1' },
  ] });
  const home = await P[0].get('getTherapySessions');
  assert.deepEqual(home.json.therapy_sessions[0].assessments, mine.json.assessments);
  const theirs = await P[1].post('getTherapySessionAssessments', { ts_id: g.ts, p_id: g.people[1].id });
  assert.deepEqual(theirs.json.assessments, [{ name: 'intake', status: 'incomplete', url: 'https://example.com/intake' }]);
  const byDr = await D.post('getTherapySessionAssessments', { ts_id: g.ts, p_id: p.id });
  assert.deepEqual(byDr.json, mine.json);
  for (const [i, b2] of [P[1], P[2], D].entries()) {
    const j = checkActions(await b2.actions(starts[i + 1]), starts[i + 1]);
    assert.deepEqual(j.actions, [], 'nobody else is told');
  }
});

test('unknown ts_id, p_id: 404 NOT_FOUND; schema errors 400', async () => {
  isError(await op('notice', { ts_id: 999999, body: 'x' }), 'NOT_FOUND', { detail: 'ts_id' });
  isError(await op('signal', { ts_id: 999999, type: 'whiteboard' }), 'NOT_FOUND', { detail: 'ts_id' });
  isError(await op('assessment', { ts_id: 999999, p_id: g.people[0].id, name: 'n', status: 'complete' }), 'NOT_FOUND', { detail: 'ts_id' });
  isError(await op('assessment', { ts_id: g.ts, p_id: 'NOBODY', name: 'n', status: 'complete' }), 'NOT_FOUND', { detail: 'p_id' });
  isError(await op('signal', { ts_id: g.ts, type: 'message' }), 'INVALID_REQUEST', { detail: 'type' });
  isError(await op('notice', { ts_id: g.ts, body: '' }), 'INVALID_REQUEST', { detail: 'body' });
  isError(await op('notice', { ts_id: g.ts, body: 'x', sender: 'Admin' }), 'INVALID_REQUEST', { detail: 'sender' });
  isError(await op('assessment', { ts_id: g.ts, p_id: g.people[0].id, name: 'n', status: 'done' }), 'INVALID_REQUEST', { detail: 'status' });
});
