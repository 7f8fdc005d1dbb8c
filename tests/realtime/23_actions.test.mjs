// Proxied actions against a local upstream that answers, fails, stalls and talks
// garbage; REQUEST rate limits; the command line.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import { h, jwt, startRealtime, connect, request, answer, ask, update, updatesOf, token, closeAll, SECRET } from './rt.mjs';

let upstream, seen = [];
before(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ url: req.url, auth: req.headers.authorization, rid: req.headers['x-request-id'], body: JSON.parse(body) });
      const input = JSON.parse(body).data?.input;
      const reply = (status, text, type = 'application/json') => {
        res.writeHead(status, { 'Content-Type': type });
        res.end(text);
      };
      if (input === 'fail') return reply(500, '{"error":"boom"}');
      if (input === 'forbidden') return reply(403, '{}');
      if (input === 'garbage') return reply(200, '<html>not json', 'text/html');
      if (input === 'slow') return setTimeout(() => reply(200, '{"late":true}'), 3000);
      if (input === 'hold') return setTimeout(() => reply(200, '{"held":true}'), 800);
      return reply(200, JSON.stringify({ output: input.toUpperCase() }));
    });
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
});
after(async () => { closeAll(); upstream.close(); await h.cleanup(); });

const permitted = () => token({ permissions: ['processData'] });

test('a proxied action: the data checked, forwarded with the caller\'s token, the answer relayed', async () => {
  const port = upstream.address().port;
  const s = await startRealtime(['--realtime-upstream', `http://127.0.0.1:${port}/actions/{action}`,
    '--realtime-upstream-timeout', '1000', '--realtime-upstream-inflight', '16']);
  const tok = permitted();
  const c = await connect(s, { tok });
  seen = [];
  const ok = await answer(c, request(c, 'processData', { input: 'value' }, 'p1'));
  assert.deepEqual(ok, { type: 'RESPONSE', requestId: 'p1', action: 'processData', data: { output: 'VALUE' } });
  assert.deepEqual(seen, [{ url: '/actions/processData', auth: `Bearer ${tok}`, rid: 'p1',
    body: { action: 'processData', requestId: 'p1', data: { input: 'value' } } }]);
  const cases = [
    ['fail', 'INTERNAL', /the upstream answered 500/],
    ['forbidden', 'ACTION_NOT_ALLOWED', /the upstream answered 403/],
    ['garbage', 'INTERNAL', /not JSON/],
    ['slow', 'INTERNAL', /no answer/],
  ];
  for (const [input, code, re] of cases) {
    const e = await answer(c, request(c, 'processData', { input }), 5000);
    assert.equal(e.type, 'ERROR', input);
    assert.equal(e.error.code, code, input);
    assert.match(e.error.message, re, input);
  }
  // checked here, never forwarded: bad data, a token without the permission
  seen = [];
  assert.equal((await ask(c, 'processData', { input: 7 })).error.code, 'INVALID_DATA');
  const plain = await connect(s, { tok: token({ sub: 'u9' }) });
  assert.equal((await ask(plain, 'processData', { input: 'x' })).error.code, 'ACTION_NOT_ALLOWED');
  assert.equal(seen.length, 0, 'the upstream saw neither');
  // too many in flight: a connection may use an eighth of 16 = 2
  const ids = [1, 2, 3, 4].map(() => request(c, 'processData', { input: 'hold' }));
  const answers = await Promise.all(ids.map((id) => answer(c, id, 5000)));
  assert.deepEqual(answers.map((a) => a.type), ['RESPONSE', 'RESPONSE', 'ERROR', 'ERROR']);
  assert.equal(answers[2].error.code, 'RATE_LIMITED');
  assert.match(answers[2].error.message, /too many requests in flight/);
});

test('a proxied action with the upstream down, or none configured', async () => {
  const down = await startRealtime(['--realtime-upstream', 'http://127.0.0.1:1/x']);
  const c = await connect(down, { tok: permitted() });
  const e = await ask(c, 'processData', { input: 'x' });
  assert.equal(e.error.code, 'INTERNAL');
  assert.match(e.error.message, /no answer/);
  const none = await startRealtime();
  const c2 = await connect(none, { tok: permitted() });
  assert.match((await ask(c2, 'processData', { input: 'x' })).error.message, /no upstream is configured/);
});

test('--max-request-rate: past it ERROR RATE_LIMITED with the requestId; abuse ends in a disconnect', async () => {
  const s = await startRealtime(['--max-request-rate', '5']);
  const c = await connect(s);
  const ids = Array.from({ length: 15 }, () => request(c, 'ping'));
  const answers = await Promise.all(ids.map((id) => answer(c, id)));
  const limited = answers.filter((a) => a.type === 'ERROR');
  assert.equal(limited.length, 5, '10 pass (a burst of twice the rate), 5 are refused');
  for (const a of limited) {
    assert.equal(a.error.code, 'RATE_LIMITED');
    assert.ok(ids.includes(a.requestId));
  }
  // keeps on regardless: 20 refused in a row and it is disconnected
  const gone = new Promise((r) => c.once('disconnect', r));
  for (let i = 0; i < 40; i++) request(c, 'ping');
  assert.equal(await h.withTimeout(gone, h.T(5000), 'disconnect'), 'io server disconnect');
  const m = await h.metrics(s);
  assert.equal(m['switchboard_realtime_limited_total{limit="requests"}'], 20, '5, then 15 more to the 20th in a row');
});

test('switchboard realtime token and realtime update', async () => {
  const s = await startRealtime();
  const out = execFileSync(h.BIN, ['realtime', 'token', '--user', 'cli-u', '--company', 'cli-c', '--session', 'cli-s',
    '--ttl', '120', '--artifacts', 'a1,a2', '--permissions', 'processData', '--jwt-secret', SECRET], { encoding: 'utf8' }).trim();
  const claims = jwt.verify(out, SECRET, { algorithms: ['HS256'] });
  assert.equal(claims.sub, 'cli-u');
  assert.equal(claims.company_id, 'cli-c');
  assert.equal(claims.sid, 'cli-s');
  assert.deepEqual(claims.artifacts, ['a1', 'a2']);
  assert.deepEqual(claims.permissions, ['processData']);
  assert.equal(claims.exp - claims.iat, 120);
  const c = await connect(s, { tok: out, sessionId: 'cli-s' });
  const r = spawnSync(h.BIN, ['realtime', 'update', '--company', 'cli-c', '--action', 'statusChange', '--data', '{"status":"done"}',
    '--request-id', 'cli-1', '--url', s.base, '--key', s.key], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { requestId: 'cli-1', offset: JSON.parse(r.stdout).offset, delivered: 1 });
  await h.until(() => updatesOf(c).length === 1, h.T(5000), 'the update');
  assert.deepEqual(updatesOf(c)[0].env, { type: 'UPDATE', requestId: 'cli-1', action: 'statusChange', data: { status: 'done' } });
  const bad = spawnSync(h.BIN, ['realtime', 'update', '--company', 'cli-c', '--action', 'x', '--url', s.base, '--key', 'sbk_nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /UNAUTHORIZED/);
  const usage = spawnSync(h.BIN, ['realtime', 'update', '--company', 'c'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  const noSecret = spawnSync(h.BIN, ['realtime', 'token', '--user', 'u', '--company', 'c', '--session', 's',
    '--db', `${h.tempDir('nosecret')}/x.db`], { encoding: 'utf8' });
  assert.equal(noSecret.status, 1);
  assert.match(noSecret.stderr, /jwt-secret/);
});
