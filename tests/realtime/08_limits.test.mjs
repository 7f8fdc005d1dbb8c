// Rate limits: REQUESTs per connection (--max-request-rate, bursts of twice
// that; RATE_LIMITED ERRORs carrying the requestIds; 20 refused in a row end in a
// server disconnect), Socket.IO handshakes server-wide (--max-handshake-rate:
// connect_error "Too many connections: retry later"), connections per user
// (--max-user-connections); all counted in /metrics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRt, connect, refusal, cleanup, metrics, mint, RtClient, T, sleep } from './realtime_harness.mjs';

after(cleanup);

const RATE = 5;
const STRIKES = 20;

test(`--max-request-rate ${RATE}: a burst past ${2 * RATE} gets RATE_LIMITED ERRORs with their requestIds and actions; later ones pass again`, async () => {
  const s = await startRt({ args: ['--max-request-rate', String(RATE)] });
  const c = await connect(s, { transports: ['websocket'], label: 'burst' });
  const ids = [];
  const start = Date.now();
  for (let i = 0; i < 15; i++) ids.push(c.send(i % 2 ? 'ping' : 'whoami', undefined, `burst-${i}`));
  const answers = await Promise.all(ids.map((id) => c.answer(id)));
  const elapsed = Date.now() - start;
  const ok = answers.filter((a) => a.type === 'RESPONSE');
  const limited = answers.filter((a) => a.type === 'ERROR');
  // the bucket holds 2 × rate; tokens come back at `rate` a second while the
  // burst is served (on a loaded machine that takes a while: a CI run with
  // other builds beside it saw 12 served)
  const refilled = Math.floor((elapsed / 1000) * RATE) + 1;
  assert.ok(ok.length >= 2 * RATE && ok.length <= 2 * RATE + refilled, `${ok.length} served in ${elapsed} ms`);
  assert.ok(limited.length > 0, 'some of the burst was refused');
  assert.deepEqual(answers.slice(0, 2 * RATE).map((a) => a.type), new Array(2 * RATE).fill('RESPONSE'), 'the first ones are served');
  for (const e of limited) {
    const i = Number(e.requestId.split('-')[1]);
    assert.deepEqual(e, {
      type: 'ERROR', requestId: `burst-${i}`, action: i % 2 ? 'ping' : 'whoami',
      error: { code: 'RATE_LIMITED', message: 'Too many messages: slow down' },
    });
  }
  assert.ok(c.socket.connected, 'a burst alone does not disconnect');
  // a second later the bucket has refilled
  await sleep(1100);
  assert.equal((await c.ask('ping', undefined, 'later')).type, 'RESPONSE');
  const m = await metrics(s);
  assert.equal(m['switchboard_realtime_limited_total{limit="requests"}'], limited.length);
  assert.equal(m.switchboard_realtime_errors_total, limited.length);
});

test(`sustained abuse: ${STRIKES} REQUESTs refused in a row end the connection on the server`, async () => {
  const s = await startRt({ args: ['--max-request-rate', String(RATE)] });
  const c = await connect(s, { transports: ['websocket'], label: 'abuser' });
  for (let i = 0; i < 100; i++) c.send('ping', undefined, `abuse-${i}`);
  await c.disconnectNo(1);
  await sleep(100);
  const m = await metrics(s);
  assert.equal(m['switchboard_realtime_limited_total{limit="requests"}'], STRIKES, 'refused until the strikes ran out, then nothing more was read');
  assert.ok(m.switchboard_realtime_requests_total < 100, `the rest was not served (${m.switchboard_realtime_requests_total})`);
  assert.equal(m.switchboard_realtime_sockets, 0);
});

/** one abuser: what its client saw (reason, messages, reconnection) */
async function abuse(s, transports, label) {
  const c = await connect(s, { transports, reconnection: true, label });
  for (let i = 0; i < 100; i++) c.send('ping', undefined, `${label}-${i}`);
  const reason = await c.disconnectNo(1);
  await sleep(400);
  const got = c.msgs.map((m) => m.env);
  c.close();
  return { reason, got, connects: c.connects, connectErrors: c.connectErrors.map((e) => e.message) };
}

// The server queues the answers, the ERRORs and the DISCONNECT, then closes;
// part of the time the client gets none of it. WebSocket: the connection ends
// 1006 (no close frame) with every queued frame lost, as when a socket closed
// with unread input sends a reset; polling: the session is gone before the
// client's next poll takes what was queued. Either way socket.io-client sees
// "transport close"/"transport error" and reconnects: the abuser is back.
// (Fixed: a kick leaves the session for the client to close, and a polling
// session's last packets go out before its close packet.)
test(`sustained abuse, as the client sees it: the answers, ${STRIKES} RATE_LIMITED ERRORs, "io server disconnect", no reconnection (8 rounds per transport)`, async () => {
  const s = await startRt({ args: ['--max-request-rate', String(RATE), '--max-user-connections', '0'] });
  const seen = {};
  for (const transports of [['websocket'], ['polling']]) {
    for (let round = 0; round < 8; round++) {
      const r = await abuse(s, transports, `${transports[0]}-${round}`);
      const tail = r.got.slice(-STRIKES);
      const ok = r.reason === 'io server disconnect' && r.connects === 1 && tail.length === STRIKES
        && tail.every((e) => e.error?.code === 'RATE_LIMITED') && r.got[r.got.length - STRIKES - 1]?.type === 'RESPONSE';
      const key = `${transports[0]}: ${ok ? 'clean' : `${r.reason}, ${r.got.length} messages, ${r.connects} connects ${r.connectErrors.join('|')}`}`;
      seen[key] = (seen[key] || 0) + 1;
    }
  }
  assert.deepEqual(seen, { 'websocket: clean': 8, 'polling: clean': 8 });
});

test('polling transport too: a burst is limited the same way', async () => {
  const s = await startRt({ args: ['--max-request-rate', String(RATE)] });
  const c = await connect(s, { transports: ['polling'], label: 'poll-burst' });
  const ids = [];
  for (let i = 0; i < 14; i++) ids.push(c.send('ping', undefined, `pb-${i}`));
  const answers = await Promise.all(ids.map((id) => c.answer(id)));
  assert.ok(answers.filter((a) => a.error?.code === 'RATE_LIMITED').length >= 3);
});

test('--max-handshake-rate 2: a burst of 12 connections gets some connect_error "Too many connections: retry later"; later ones pass', async () => {
  const s = await startRt({ args: ['--max-handshake-rate', '2', '--max-user-connections', '0'] });
  const clients = Array.from({ length: 12 }, (_, i) => new RtClient(s, { transports: ['websocket'], label: `h${i}` }));
  const results = await Promise.allSettled(clients.map((c) => c.connected()));
  const refused = results.filter((r) => r.status === 'rejected');
  const accepted = results.filter((r) => r.status === 'fulfilled');
  for (const r of refused) assert.equal(r.reason.message, 'Too many connections: retry later');
  // a bucket of 2 × 2: four at once, maybe a fifth if a token came back meanwhile
  assert.ok(accepted.length >= 4 && accepted.length <= 5, `${accepted.length} accepted`);
  const m = await metrics(s);
  assert.equal(m['switchboard_realtime_limited_total{limit="handshakes"}'], refused.length);
  assert.equal(m.switchboard_realtime_refused_total, refused.length);
  assert.equal(m.switchboard_realtime_sockets, accepted.length);
  await sleep(1100);
  const later = await connect(s, { transports: ['websocket'], label: 'later' });
  assert.equal((await later.ask('ping')).type, 'RESPONSE');
});

test('--max-user-connections 3: the fourth connection of one user is refused, another user is not, a freed slot is reused', async () => {
  const s = await startRt({ args: ['--max-user-connections', '3'] });
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push(await connect(s, { label: `u1-${i}` }));
  assert.equal(await refusal(s, { label: 'u1-3' }), 'Too many connections for this user');
  // same user id in another company is another user
  const other = await connect(s, { label: 'c2-u1', token: mint({ company_id: 'c2' }) });
  const u2 = await connect(s, { label: 'u2', token: mint({ sub: 'u2' }) });
  mine[0].close();
  await sleep(200);
  const again = await connect(s, { label: 'u1-again' });
  assert.equal((await again.ask('ping')).type, 'RESPONSE');
  for (const c of [other, u2]) assert.equal((await c.ask('ping')).type, 'RESPONSE');
});

// The per-user key is "user:<company>/<user>" with nothing escaped, like the
// artifact topics (see 05_isolation): (company "a", user "b/c") and (company
// "a/b", user "c") share one count.
test('per-user limit: users whose ids contain "/" are counted apart from other companies\' users', async () => {
  const s = await startRt({ args: ['--max-user-connections', '1'] });
  const first = await connect(s, { label: 'a|b/c', token: mint({ company_id: 'a', sub: 'b/c' }) });
  const second = await connect(s, { label: 'a/b|c', token: mint({ company_id: 'a/b', sub: 'c' }) });
  assert.equal((await second.ask('whoami')).data.companyId, 'a/b');
  first.close();
});
