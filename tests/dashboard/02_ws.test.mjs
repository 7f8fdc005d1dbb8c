// 02_ws: the dashboard WebSocket. init_data on open and on every
// request_init_data, byte for byte the document's; request_ping answered
// with pong and the server's clock; a malformed or unknown client message is
// ignored (the document defines no error message) and counted: past
// --max-invalid a minute the connection closes with 1008; binary closes with
// 1003; an oversized frame with 1009; the idle timeout closes a silent
// connection; every tab of a case follows, no tab of another case does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDashboard, cleanup, apikey, session, openDashboard, seedInitData, isAction, op, tallBody,
  T, sleep,
} from './dh.mjs';

let s; let key;

before(async () => {
  s = await startDashboard({ args: ['--max-invalid', '5'] });
  key = apikey(s);
});
after(cleanup);

test('init_data on open and on request_init_data, exactly the document\'s', async () => {
  const fin = await session(s, key, '1', '42');
  const c = await openDashboard(s, '1', fin, '42');
  const want = JSON.stringify(seedInitData(s, '1'));
  assert.equal(c.raw[0], want, 'byte for byte, keys in the document\'s order');
  const again = await c.ask({ action: 'request_init_data' }, isAction('init_data'));
  assert.deepEqual(again, seedInitData(s, '1'));
  assert.equal(c.raw.at(-1), want);
  c.close();
});

test('request_ping is answered with pong and the server clock', async () => {
  const fin = await session(s, key, '1', '42');
  const c = await openDashboard(s, '1', fin, '42');
  const before = Date.now();
  const pong = await c.ask({ action: 'request_ping' }, isAction('pong'));
  assert.deepEqual(Object.keys(pong), ['action', 'data']);
  assert.deepEqual(Object.keys(pong.data), ['server_time']);
  assert.ok(Number.isInteger(pong.data.server_time));
  assert.ok(Math.abs(pong.data.server_time - before) < 5000, 'Unix milliseconds of now');
  c.close();
});

test('malformed and unknown messages are ignored, then the connection closes with 1008', async () => {
  const fin = await session(s, key, '1', '42');
  const c = await openDashboard(s, '1', fin, '42');
  const bad = ['not json', '{"action":"request_everything"}', '{"action":"request_ping","x":1}', '[]'];
  for (const b of bad) c.send(b);
  // nothing answers them, and the connection still works
  const mark = c.mark();
  const pong = await c.ask({ action: 'request_ping' }, isAction('pong'));
  assert.ok(pong);
  assert.equal(c.messages.slice(mark).filter((m) => m.action !== 'pong').length, 0, 'no answer to the bad ones');
  c.send('{"action":');
  c.send('{"action": 5}');
  const closed = await c.waitClose();
  assert.equal(closed.code, 1008);
});

test('a binary frame closes with 1003, an oversized one with 1009', async () => {
  const fin = await session(s, key, '1', '42');
  const a = await openDashboard(s, '1', fin, '42');
  a.ws.send(Buffer.from('{"action":"request_ping"}'), { binary: true });
  assert.equal((await a.waitClose()).code, 1003);
  const b = await openDashboard(s, '1', fin, '42');
  b.send(JSON.stringify({ action: 'request_ping', pad: 'x'.repeat(2000) }));
  assert.equal((await b.waitClose()).code, 1009);
});

test('every tab of a case follows a push; no tab of another case does', async () => {
  const fin1 = await session(s, key, '1', '42');
  const fin1b = await session(s, key, '1', '43');
  const fin2 = await session(s, key, '2', '42');
  const tabs = [await openDashboard(s, '1', fin1, '42', 'tab 1'), await openDashboard(s, '1', fin1, '42', 'tab 2'),
    await openDashboard(s, '1', fin1b, '43', 'other user, same case')];
  const other = await openDashboard(s, '2', fin2, '42', 'case 2');
  const marks = tabs.map((t) => t.mark());
  const otherMark = other.mark();
  const cur = (await op(s, key, 'GET', '/api/v1/cases/1/dashboard')).json.version;
  const r = await op(s, key, 'PUT', '/api/v1/cases/1/dashboard', tallBody(cur));
  assert.equal(r.status, 200, r.text);
  for (const [i, t] of tabs.entries()) {
    const m = await t.waitFor(isAction('init_data'), { from: marks[i], what: 'pushed init_data' });
    assert.equal(m.data.dsettings.layout_type, 'view_tall_3');
    assert.deepEqual(m.data.components, tallBody(0).components);
  }
  const refresh = await op(s, key, 'POST', '/api/v1/cases/1/components/barchart_1/refresh', { key: 'k1' });
  assert.equal(refresh.status, 200);
  for (const [i, t] of tabs.entries()) await t.waitFor((m) => m.action === 'request_component_refresh' && m.data.key === 'k1', { from: marks[i] });
  // case 2 saw none of it: a ping's pong is the next thing it gets
  await other.ask({ action: 'request_ping' }, isAction('pong'));
  assert.deepEqual(other.messages.slice(otherMark).map((m) => m.action), ['pong']);
  for (const t of [...tabs, other]) t.close();
});

test('a silent connection is closed at --idle-timeout; a pinging one stays', async () => {
  const s2 = await startDashboard({ args: ['--idle-timeout', '1'] });
  const k2 = apikey(s2);
  const fin = await session(s2, k2, '1', '42');
  const silent = await openDashboard(s2, '1', fin, '42', 'silent');
  const pinging = await openDashboard(s2, '1', fin, '42', 'pinging');
  const start = Date.now();
  const timer = setInterval(() => pinging.send({ action: 'request_ping' }), 300);
  const closed = await silent.waitClose(T(5000));
  clearInterval(timer);
  assert.ok(Date.now() - start >= 900, 'not before the timeout');
  assert.ok(closed.code === 1000 || closed.code === 1001 || closed.code === 1006 || closed.code === 1008, `code ${closed.code}`);
  assert.equal(pinging.closeInfo, null, 'the pinging tab is still open');
  await pinging.ask({ action: 'request_ping' }, isAction('pong'));
  pinging.close();
  await s2.stop();
  await sleep(10);
});
