// 06_limits: limits and transport on the therapy routes.
// A body over --max-http-body -> 413 (before any parsing, nothing stored);
// more than 100 saveActions items -> 400 naming the limit; a GET on a POST
// route (and the reverse) -> 405 with Allow; a wrong Content-Type -> 415;
// invalid JSON -> 400 INVALID_REQUEST with PATH: REASON; duplicate keys,
// unknown fields, wrong types, out-of-range values refused, nothing stored.
// The transport's own errors (405, 413, 415) come in the schema's
// {"result", "error": NAME} shape, byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTherapy, cleanup, addGroup, browserIn, req, API, msg, isError, checkActions,
} from './th.mjs';

let small; let s; let b; let bs;
before(async () => {
  [small, s] = await Promise.all([startTherapy({ args: ['--max-http-body', '4k'] }), startTherapy()]);
  const g1 = addGroup(small.db, 1);
  const g2 = addGroup(s.db, 1);
  bs = await browserIn(small, g1.people[0], g1.ts);
  b = await browserIn(s, g2.people[0], g2.ts);
});
after(cleanup);

test('a body over --max-http-body is 413 and stores nothing', async () => {
  const big = await bs.save([msg(bs.user, 'x'.repeat(5000))]);
  assert.equal(big.status, 413);
  assert.match(big.text, /over the size limit of 4096 bytes/);
  assert.equal(big.headers.connection, 'close');
  const fits = await bs.save([msg(bs.user, 'y'.repeat(3000))]);
  assert.equal(fits.status, 200, fits.text);
  const j = checkActions(await bs.actions(0), 0);
  assert.deepEqual(j.actions.map((a) => a.body.length), [3000]);
  // the login endpoints too
  assert.equal((await req(small, `${API}/login`, { body: { phone: '+15550000000', last_name: 'x'.repeat(5000) } })).status, 413);
});

test('more than 100 saveActions items: 400 naming the limit, nothing stored', async () => {
  const last = checkActions(await b.actions(0), 0).max_id;
  const r = await b.save(Array.from({ length: 101 }, (_, i) => msg(b.user, `item ${i}`)));
  isError(r, 'INVALID_REQUEST', { detail: /100/ });
  assert.deepEqual(checkActions(await b.actions(last), last).actions, []);
  const ok = await b.save(Array.from({ length: 100 }, (_, i) => msg(b.user, `item ${i}`)));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.ids.length, 100);
  for (let i = 1; i < 100; i++) assert.equal(ok.json.ids[i], ok.json.ids[i - 1] + 1);
  // and 100 of them come back in order
  const j = checkActions(await b.actions(last), last);
  assert.deepEqual(j.actions.map((a) => a.body), Array.from({ length: 100 }, (_, i) => `item ${i}`));
});

test('method and content type: 405 with Allow, 415', async () => {
  for (const name of ['saveActions', 'getActions', 'login', 'verifyCode', 'enterTherapySession', 'logout', 'operator/notice']) {
    const r = await req(s, `${API}/${name}`, { method: 'GET', headers: { Cookie: `sb_therapy=${b.cookie}` } });
    assert.equal(r.status, 405, name);
    assert.match(r.headers.allow, /POST/);
    assert.doesNotMatch(r.headers.allow, /GET/);
  }
  for (const name of ['session', 'getTherapySessions']) {
    const r = await b.post(name, {});
    assert.equal(r.status, 405, name);
    assert.match(r.headers.allow, /GET/);
  }
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
    const r = await b.post('getActions', '{"last_action_id": 0}', { headers: { 'Content-Type': type } });
    assert.equal(r.status, 415, type);
  }
  const charset = await b.post('getActions', '{"last_action_id": 0}', { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
  assert.equal(charset.status, 200, charset.text);
});

test('invalid JSON, duplicate keys, unknown fields, wrong types: 400 PATH: REASON, nothing stored', async () => {
  const last = checkActions(await b.actions(0), 0).max_id;
  const item = JSON.stringify(msg(b.user, 'dup'));
  const cases = [
    ['getActions', '{"last_action_id": 0', /^Invalid request: \$: invalid JSON at byte \d+/],
    ['getActions', '', /^Invalid request: \$: /],
    ['getActions', '{"last_action_id": 0, "last_action_id": 1}', 'last_action_id: duplicate field'],
    ['getActions', '{"last_action_id": 0, "x": 1}', 'x: unknown field'],
    ['getActions', '{"last_action_id": "0"}', 'last_action_id: expected integer'],
    ['getActions', '{"last_action_id": 0, "wait": 26}', 'wait'],
    ['getActions', '{"last_action_id": 1.5}', 'last_action_id'],
    ['getActions', '[]', '$'],
    ['saveActions', `[${item.replace('"body":"dup"', '"body":"dup","body":"dup2"')}]`, '$[0].body: duplicate field'],
    ['saveActions', `[${item}, ${item.replace('"type":"message"', '"type":"mesage"')}]`, '$[1]'],
    ['saveActions', `[${item.replace('"time_to_complete":"671ms"', '"time_to_complete":"671"')}]`, '$[0].time_to_complete'],
    ['saveActions', `[${item.replace('"client_ts":"', '"client_ts":"yesterday').replace(/"client_ts":"yesterday[^"]*"/, '"client_ts":"yesterday"')}]`, '$[0].client_ts'],
    ['saveActions', `[${item}, {"client_ts":"2023-08-02T22:02:53.375Z","type":"reaction","target":1,"user":"${b.user}","icon":"thumbsup"}]`, '$[1].icon'],
    ['saveActions', `[${item}, {"client_ts":"2023-08-02T22:02:53.375Z","type":"delete","target":0}]`, '$[1].target'],
    ['saveActions', '{}', '$'],
    ['saveActions', `[${item}] trailing`, '$'],
    ['saveActions', `[${item.replace('"dup"', '"\\ud800"')}]`, '$[0].body'],
    ['enterTherapySession', '{"ts_id": 0}', 'ts_id'],
    ['verifyCode', '{"code": "123456", "extra": true}', 'extra: unknown field'],
    ['login', '{"phone": "+15550000000"}', 'last_name'],
  ];
  for (const [name, body, detail] of cases) {
    const r = await b.post(name, body);
    try {
      isError(r, 'INVALID_REQUEST', { detail });
    } catch (e) {
      throw new Error(`${name} ${body.slice(0, 80)}: ${e.message}`);
    }
  }
  // invalid UTF-8
  const bad = Buffer.concat([Buffer.from(`[${item.slice(0, -2)}`), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]);
  isError(await b.post('saveActions', bad), 'INVALID_REQUEST');
  assert.deepEqual(checkActions(await b.actions(last), last).actions, []);
});

test('transport errors carry the schema error shape: {"result": TEXT, "error": NAME}', async () => {
  const r = await req(s, `${API}/saveActions`, { method: 'GET' });
  assert.equal(r.status, 405);
  assert.deepEqual(r.json, { result: 'method not allowed', error: 'METHOD_NOT_ALLOWED' });
  const t = await req(s, `${API}/login`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  assert.equal(t.status, 415);
  assert.deepEqual(t.json, { result: 'unsupported Content-Type', error: 'UNSUPPORTED_MEDIA_TYPE' });
  const big = await req(s, `${API}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error, 'PAYLOAD_TOO_LARGE');
  assert.match(big.json.result, /^body over the size limit of \d+ bytes$/);
});
