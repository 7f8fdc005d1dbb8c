// 01_auth: the handshake. /request_for_auth takes an operator API key and
// gives a single-use ticket bound to a case and a user; /auth_handshake
// trades it for a fin_session_id bound to the same pair; the WebSocket and
// the component endpoints take exactly that pair. A replayed ticket, a
// ticket for another case or user, an expired ticket, an expired or unknown
// fin_session_id, and a fin_session_id of case A on case B are refused, and
// the answers say nothing about other cases. Secrets are stored hashed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  startDashboard, cleanup, apikey, op, ticket, handshake, session, openDashboard, refusedUpgrade,
  wsPath, isError, seedInitData, request, sleep, T,
} from './dh.mjs';
import { SCALE, dbQuery, sqliteOnly } from '../integration/harness.mjs';

let s; let key;
// a session's idle timeout: 2 s, longer under the sanitizers' slower clock
const IDLE_S = 2 * SCALE;

before(async () => {
  // tickets live 1 s and sessions IDLE_S idle here, so expiry takes seconds
  s = await startDashboard({ args: ['--auth-ticket-ttl', '1', '--fin-session-ttl', String(IDLE_S)] });
  key = apikey(s);
});
after(cleanup);

test('request_for_auth needs an operator API key', async () => {
  const body = { case_id: '1', user_id: '42' };
  assert.ok(isError(await op(s, null, 'POST', '/request_for_auth', body), 'API_KEY_REQUIRED'));
  assert.ok(isError(await op(s, 'sbk_0000', 'POST', '/request_for_auth', body), 'API_KEY_REQUIRED'));
  // a fin_session_id is no key
  const fin = await session(s, key, '1', '42');
  assert.ok(isError(await op(s, fin, 'POST', '/request_for_auth', body), 'API_KEY_REQUIRED'));
  const r = await op(s, key, 'POST', '/request_for_auth', body);
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ['auth_ticket', 'expires_in']);
  assert.match(r.json.auth_ticket, /^[0-9a-f]{64}$/);
  assert.equal(r.json.expires_in, 1);
});

test('request_for_auth checks its body against the schema', async () => {
  const bad = [
    [{ case_id: '1' }, 'user_id: missing required field'],
    [{ case_id: '', user_id: '1' }, 'case_id: '],
    [{ case_id: '1', user_id: '1', extra: 1 }, 'extra: '],
    [{ case_id: 'x'.repeat(65), user_id: '1' }, 'case_id: '],
    // a case is a path segment of the operator API: no '/'
    [{ case_id: 'a/b', user_id: '1' }, 'case_id: does not match pattern ^[^/]+$'],
  ];
  for (const [body, detail] of bad) {
    const r = await op(s, key, 'POST', '/request_for_auth', body);
    assert.ok(isError(r, 'INVALID_REQUEST'), `${JSON.stringify(body)}: ${r.status} ${r.text}`);
    assert.ok(r.json.error.includes(detail), `${r.json.error} names ${detail}`);
  }
});

test('a ticket works once, for its own case and user only', async () => {
  const t = await ticket(s, key, '1', '42');
  const ok = await handshake(s, t, '1', '42');
  assert.equal(ok.status, 200);
  assert.match(ok.json.fin_session_id, /^[0-9a-f]{64}$/);
  assert.equal(ok.json.expires_in, IDLE_S);
  assert.ok(isError(await handshake(s, t, '1', '42'), 'INVALID_TICKET', ''), 'replayed');

  const t2 = await ticket(s, key, '1', '42');
  assert.ok(isError(await handshake(s, t2, '2', '42'), 'INVALID_TICKET', ''), 'another case');
  // presented for the wrong case, it is burnt: the right case cannot use it either
  assert.ok(isError(await handshake(s, t2, '1', '42'), 'INVALID_TICKET', ''), 'burnt');
  const t3 = await ticket(s, key, '1', '42');
  assert.ok(isError(await handshake(s, t3, '1', '43'), 'INVALID_TICKET', ''), 'another user');
  assert.ok(isError(await handshake(s, 'f'.repeat(64), '1', '42'), 'INVALID_TICKET', ''), 'unknown');
});

test('an expired ticket is refused', async () => {
  const t = await ticket(s, key, '1', '42');
  await sleep(T(1200));
  assert.ok(isError(await handshake(s, t, '1', '42'), 'INVALID_TICKET', ''));
});

test('the WebSocket opens with its own fin_session_id and sends init_data', async () => {
  const fin = await session(s, key, '7', 'u1');
  const c = await openDashboard(s, '7', fin, 'u1');
  assert.deepEqual(c.messages[0], seedInitData(s, '7'));
  c.close();
});

test('a fin_session_id of case A opens nothing of case B, and unknown ones get 401', async () => {
  const fin = await session(s, key, 'A', 'u1');
  const other = await refusedUpgrade(s, wsPath('B', fin, 'u1'));
  assert.equal(other.status, 403);
  assert.deepEqual(other.json, { error: 'fin_session_id is not for this case and user' });
  const user = await refusedUpgrade(s, wsPath('A', fin, 'u2'));
  assert.equal(user.status, 403);
  const unknown = await refusedUpgrade(s, wsPath('B', 'f'.repeat(64), 'u1'));
  assert.equal(unknown.status, 401);
  assert.deepEqual(unknown.json, { error: 'Authentication required' });
  // the same answer whether or not case B exists or has dashboards open
  const finB = await session(s, key, 'B', 'u9');
  const openB = await openDashboard(s, 'B', finB, 'u9');
  const again = await refusedUpgrade(s, wsPath('B', fin, 'u1'));
  assert.deepEqual([again.status, again.json], [other.status, other.json]);
  openB.close();
  // missing parameters: 400 naming the field
  const missing = await refusedUpgrade(s, `/api/v1/ws?case_id=A&user_id=u1`);
  assert.equal(missing.status, 400);
  assert.match(missing.json.error, /^Invalid request: fin_session_id: missing required field/);
});

test('the component endpoints take the same fin_session_id, for the same case', async () => {
  const fin = await session(s, key, 'A', 'u1');
  const q = (c) => `case_id=${c}&fin_session_id=${fin}`;
  assert.equal((await request(s, `/api/v1/init_data?${q('A')}&user_id=u1`)).status, 200);
  assert.ok(isError(await request(s, `/api/v1/init_data?${q('B')}&user_id=u1`), 'FORBIDDEN', ''));
  assert.ok(isError(await request(s, `/api/v1/init_data?${q('A')}&user_id=u2`), 'FORBIDDEN', ''));
  assert.ok(isError(await request(s, `/api/v1/components/timeline_1?${q('B')}`), 'FORBIDDEN', ''));
  assert.ok(isError(await request(s, `/api/v1/views/faq?${q('B')}`), 'FORBIDDEN', ''));
  assert.ok(isError(await request(s, `/api/v1/views/buttons?case_id=A&fin_session_id=nope`), 'AUTH_REQUIRED', ''));
  assert.ok(isError(await request(s, `/api/v1/chat_access?case_id=A`), 'AUTH_REQUIRED', ''));
});

test('a fin_session_id unused past --fin-session-ttl ends; use keeps it alive', async () => {
  const idle = await session(s, key, 'A', 'u1');
  const used = await session(s, key, 'A', 'u1');
  const q = (f) => `/api/v1/init_data?case_id=A&fin_session_id=${f}&user_id=u1`;
  // used every 0.3 ttl for 1.5 ttl (its last use is written at most every ttl/4)
  for (let i = 0; i < 5; i++) {
    await sleep(IDLE_S * 300);
    assert.equal((await request(s, q(used))).status, 200, `use ${i}`);
  }
  assert.ok(isError(await request(s, q(idle)), 'AUTH_REQUIRED', ''), 'idle one ended');
  assert.equal((await refusedUpgrade(s, wsPath('A', idle, 'u1'))).status, 401);
});

test('tickets and sessions are stored hashed', async () => {
  const t = await ticket(s, key, 'H', 'u1');
  const r = await handshake(s, t, 'H', 'u1');
  const fin = r.json.fin_session_id;
  const dump = dbQuery(s, 'SELECT hash FROM dashboard_tickets') + dbQuery(s, 'SELECT hash FROM dashboard_sessions');
  assert.equal(dump.trim().split('\n').length >= 2, true, dump);
  assert.ok(!dump.includes(t) && !dump.includes(fin));
  const log = s.stdout + s.stderr;
  assert.ok(!log.includes(t) && !log.includes(fin), 'nor in the log');
});

test('tickets and sessions are not in the SQLite files (pages, WAL)', async (tc) => {
  if (sqliteOnly(tc, 'the database file and its WAL')) return;
  const t = await ticket(s, key, 'H', 'u1');
  const fin = (await handshake(s, t, 'H', 'u1')).json.fin_session_id;
  const bytes = fs.readFileSync(s.db).toString('latin1') + (fs.existsSync(`${s.db}-wal`) ? fs.readFileSync(`${s.db}-wal`).toString('latin1') : '');
  assert.ok(!bytes.includes(t), 'no ticket in the database files');
  assert.ok(!bytes.includes(fin), 'no fin_session_id in the database files');
});
