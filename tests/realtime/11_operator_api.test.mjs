// The operator API, POST /api/v1/realtime/updates: its answers byte for byte
// (401 without a valid key, 400 naming the field, 200 with requestId, offset and
// delivered), all application/json; and its error answers in the declared
// {"code","message"} shape whatever went wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRt, connect, cleanup, postUpdate, request, runBin, addApiKey, metrics, mint, sleep,
  h,
} from './realtime_harness.mjs';

let s;
before(async () => { s = await startRt(); });
after(cleanup);

const UNAUTHORIZED = '{"code":"UNAUTHORIZED","message":"API key required"}';
const PATH = '/api/v1/realtime/updates';

function assertJson(r, status, body) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.text, body);
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(body));
}

test('401: no Authorization, another scheme, an unknown key, a revoked key; nothing delivered', async () => {
  const c = await connect(s);
  const body = JSON.stringify({ company_id: 'c1', action: 'x' });
  const json = { 'Content-Type': 'application/json' };
  assertJson(await request(s, PATH, { method: 'POST', headers: json, body }), 401, UNAUTHORIZED);
  assertJson(await request(s, PATH, { method: 'POST', headers: { ...json, Authorization: 'Basic dTpw' }, body }), 401, UNAUTHORIZED);
  assertJson(await request(s, PATH, { method: 'POST', headers: { ...json, Authorization: 'Bearer' }, body }), 401, UNAUTHORIZED);
  assertJson(await postUpdate(s, body, { key: `sbk_${'0'.repeat(64)}` }), 401, UNAUTHORIZED);
  // a key that worked, then revoked
  const key = addApiKey(s.db, 'to-revoke');
  assert.equal((await postUpdate(s, body, { key })).status, 200);
  const rv = await runBin(['apikey', 'revoke', '--name', 'to-revoke', '--db', s.db]);
  assert.equal(rv.code, 0, rv.stderr);
  assertJson(await postUpdate(s, body, { key }), 401, UNAUTHORIZED);
  // the bad body is not even looked at without a key
  assertJson(await postUpdate(s, '{nope', { key: null }), 401, UNAUTHORIZED);
  await sleep(100);
  assert.equal(c.updates().length, 1, 'only the one accepted');
  c.close();
});

test('400: the body\'s field path and reason, byte for byte', async () => {
  const accepted = (await metrics(s)).switchboard_realtime_updates_total;
  const cases = [
    [{ action: 'x' }, 'company_id: missing required field'],
    [{ company_id: 'c1' }, 'action: missing required field'],
    [{ company_id: '', action: 'x' }, 'company_id: shorter than 1 bytes'],
    [{ company_id: 5, action: 'x' }, 'company_id: expected string, got number'],
    [{ company_id: 'c1', action: 'x', artifact_id: 7 }, 'artifact_id: expected string, got number'],
    [{ company_id: 'c1', action: 'x', artifact_id: '' }, 'artifact_id: shorter than 1 bytes'],
    [{ company_id: 'c1', action: 'x', requestId: '' }, 'requestId: shorter than 1 bytes'],
    [{ company_id: 'c1', action: 'x', requestId: 'r'.repeat(129) }, 'requestId: longer than 128 bytes'],
    [{ company_id: 'c'.repeat(257), action: 'x' }, 'company_id: longer than 256 bytes'],
    [{ company_id: 'c1', action: 'x', bogus: true }, 'bogus: unknown field'],
    ['{"company_id":"c1","action":"x"', '$: invalid JSON at byte 31: unexpected end of input'],
    ['[]', '$: expected object, got array'],
  ];
  for (const [body, message] of cases) {
    assertJson(await postUpdate(s, body), 400, JSON.stringify({ code: 'INVALID_REQUEST', message }));
  }
  assert.equal((await metrics(s)).switchboard_realtime_updates_total, accepted, 'none of them accepted');
});

test('200: {"requestId","offset","delivered"} as application/json; offsets increase; UTF-8 kept', async () => {
  const c = await connect(s, { label: 'op200', token: mint({ company_id: 'c-op200' }) });
  const a = await postUpdate(s, { company_id: 'c-op200', action: 'x', requestId: 'op-ü-1', data: { t: 'é€😀' } });
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-type'], 'application/json');
  assert.match(a.text, /^\{"requestId":"op-ü-1","offset":"(\d+)","delivered":1\}$/);
  const b = await postUpdate(s, { company_id: 'c-op200', action: 'x' });
  assert.match(b.text, /^\{"requestId":"[^"]+","offset":"(\d+)","delivered":1\}$/);
  assert.ok(Number(b.json.offset) > Number(a.json.offset));
  assert.notEqual(b.json.requestId, a.json.requestId);
  await c.waitMsgs((m) => m.env.type === 'UPDATE', 2);
  assert.deepEqual(c.updates()[0].env.data, { t: 'é€😀' });
});

// The schema (RealtimeHttpError) is "the body of every error answer of the
// operator API"; answers made by the HTTP layer before the route runs have
// another shape.
test('every error answer of the operator API is {"code","message"} JSON (wrong Content-Type, wrong method)', async () => {
  const key = s.apiKey();
  const answers = [
    await request(s, PATH, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: '{"company_id":"c1","action":"x"}' }),
    await request(s, PATH, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'text/plain' }, body: '{"company_id":"c1","action":"x"}' }),
    await request(s, PATH, { method: 'GET', headers: { Authorization: `Bearer ${key}` } }),
  ];
  for (const r of answers) {
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(r.json || {}), ['code', 'message'], `${r.status} ${r.text}`);
  }
});

// A write that fails at commit (here: past --max-db-size) must answer the
// declared 503 UNAVAILABLE; handlers/realtime_app.c registers the routes with
// an empty sb_failure, so the runtime's fallback answers instead.
test('an UPDATE that cannot be stored: 503 {"code":"UNAVAILABLE","message":"Service unavailable"}, nothing delivered', async () => {
  // SQLite: a size quota with room for every module's tables; PostgreSQL (no
  // quota: its disk is the server's business): a constraint the big ones break
  const t = await startRt({ args: h.engine === 'sqlite' ? ['--max-db-size', '400k'] : [] });
  if (h.engine !== 'sqlite') h.dbQuery(t, 'ALTER TABLE realtime_updates ADD CONSTRAINT test_small CHECK (length(envelope) < 50000)');
  const c = await connect(t);
  let failed;
  for (let i = 0; i < 8 && !failed; i++) {
    const r = await postUpdate(t, { company_id: 'c1', action: 'big', requestId: `big-${i}`, data: 'x'.repeat(60000) });
    if (r.status !== 200) failed = r;
  }
  assert.ok(failed, 'the quota was reached');
  await sleep(200);
  const got = c.updates().map((m) => m.env.requestId);
  assert.ok(!got.includes(failed.json?.requestId ?? 'none'));
  assert.equal(got.length, (await metrics(t)).switchboard_realtime_deliveries_total, 'nothing of the failed one delivered');
  assertJson(failed, 503, '{"code":"UNAVAILABLE","message":"Service unavailable"}');
});
