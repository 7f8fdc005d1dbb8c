// 07_nodes: two switchboard processes (nodes) on one database, as behind a
// load balancer. An auth ticket presented on both at once is accepted once;
// versioned PUTs based on one version, sent to both at once, give one 200 and
// 409s, and the versions go up by one per success; iframe sources set on both
// at once are all kept in order (each re-reads on a conflict); a fin session
// made on one node is good on the other, whose use keeps it alive on both
// (docs/decisions.md, "PostgreSQL engine", dashboard).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDashboard, cleanup, apikey, op, ticket, handshake, session, openDashboard, isError,
  standardBody, tallBody, sleep,
} from './dh.mjs';
import { SCALE } from '../integration/harness.mjs';

const IDLE_S = 3 * SCALE;
let a; let b; let key;
before(async () => {
  // the first node makes the schema before the second starts
  const args = ['--fin-session-ttl', String(IDLE_S)];
  a = await startDashboard({ args });
  b = await startDashboard({ dir: a.dir, args });
  key = apikey(a);
});
after(cleanup);

const D = (c) => `/api/v1/cases/${c}/dashboard`;
const tally = (answers) => {
  const by = {};
  for (const r of answers) by[r.status] = (by[r.status] || 0) + 1;
  return by;
};

test('one auth ticket presented on both nodes at once is accepted once', async () => {
  for (let round = 0; round < 8; round++) {
    const t = await ticket(round % 2 ? b : a, key, '1', '42');
    const answers = await Promise.all([a, b, a, b].map((s) => handshake(s, t, '1', '42')));
    assert.deepEqual(tally(answers), { 200: 1, 401: 3 }, `round ${round}`);
    for (const r of answers.filter((x) => x.status === 401)) assert.ok(isError(r, 'INVALID_TICKET'));
  }
});

test('versioned PUTs on both nodes at once: one 200, the rest 409, one version step each', async () => {
  let version = 0;
  for (let round = 0; round < 8; round++) {
    const caseId = `n${round % 3}`;
    const g = await op(a, key, 'GET', D(caseId));
    version = g.json.version;
    const body = (s) => (round % 2 ? tallBody(version) : standardBody(s, version, caseId));
    const answers = await Promise.all([a, b, b, a].map((s) => op(s, key, 'PUT', D(caseId), body(s))));
    assert.deepEqual(tally(answers), { 200: 1, 409: 3 }, `round ${round}: ${answers.map((r) => r.text).join(' | ')}`);
    const ok = answers.find((r) => r.status === 200);
    assert.equal(ok.json.version, version + 1);
    for (const r of answers.filter((x) => x.status === 409)) {
      assert.ok(isError(r, 'VERSION_CONFLICT'), r.text);
      assert.equal(r.json.version, version + 1, 'the 409 names the version that won');
    }
    for (const s of [a, b]) assert.equal((await op(s, key, 'GET', D(caseId))).json.version, version + 1);
  }
});

test('iframe sources set on both nodes at once: every one applied, one version each', async () => {
  const caseId = 'frames';
  const v0 = (await op(a, key, 'GET', D(caseId))).json.version;
  const srcs = Array.from({ length: 6 }, (_, i) => `https://example.com/frame-${i}`);
  const answers = await Promise.all(srcs.map((src, i) => op(i % 2 ? b : a, key, 'POST',
    `/api/v1/cases/${caseId}/components/chat_1/iframe`, { iframe_source: src })));
  for (const r of answers) assert.equal(r.status, 200, r.text);
  const versions = answers.map((r) => r.json.version).sort((x, y) => x - y);
  assert.deepEqual(versions, srcs.map((_, i) => v0 + i + 1), 'each one version of its own');
  const last = answers.find((r) => r.json.version === v0 + srcs.length);
  const g = await op(b, key, 'GET', D(caseId));
  assert.equal(g.json.version, v0 + srcs.length);
  assert.equal(g.json.components.find((c) => c.id === 'chat_1').src, last.json.iframe_source);
});

test('a fin session made on one node is good on the other, and its use there keeps it alive', async () => {
  const view = { title: 'Next', buttons: [] };
  assert.equal((await op(a, key, 'PUT', '/api/v1/cases/1/views/buttons', view)).status, 200);
  const fin = await session(a, key, '1', '7');
  const c = await openDashboard(b, '1', fin, '7', 'on b');
  c.ws.close();
  // used on b past half the idle time, twice: alive on a after a whole idle time
  const half = (IDLE_S * 1000) / 2 + 200;
  for (let i = 0; i < 2; i++) {
    await sleep(half);
    const r = await op(b, null, 'GET', `/api/v1/views/buttons?case_id=1&fin_session_id=${fin}&user_id=7`);
    assert.equal(r.status, 200, `use ${i} on b: ${r.text}`);
  }
  const r = await op(a, null, 'GET', `/api/v1/views/buttons?case_id=1&fin_session_id=${fin}&user_id=7`);
  assert.equal(r.status, 200, `alive on a: ${r.text}`);
  // idle on both: refused on both
  await sleep(IDLE_S * 1000 + 300);
  for (const s of [a, b]) {
    const x = await op(s, null, 'GET', `/api/v1/views/buttons?case_id=1&fin_session_id=${fin}&user_id=7`);
    assert.ok(isError(x, 'AUTH_REQUIRED'), x.text);
  }
});
