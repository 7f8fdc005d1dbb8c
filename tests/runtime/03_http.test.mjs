// HTTP through the runtime: deferred answers (long polls completed by a
// WebSocket message, timed out, aborted), headers and cookies both ways,
// path parameters, HEAD, CORS, and the transport's own refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startRt, connect, cleanup, rawRequest, h, T, sleep } from './rt_harness.mjs';

let s;
before(async () => {
  s = await startRt(['--cors-origins', 'http://ok.example', '--max-http-body', '4096'], 'http');
});
after(cleanup);

/** A GET whose answer is awaited later; .req lets a test destroy it. */
function pending(path) {
  let req;
  const p = new Promise((resolve, reject) => {
    const t0 = Date.now();
    req = http.get({ host: '127.0.0.1', port: s.port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text), ms: Date.now() - t0 }));
    });
    req.on('error', reject);
  });
  return { req, p };
}

test('a long poll completed by a WebSocket message (wake): every held poll gets the text', async () => {
  const c = await connect(s, '', 'waker');
  const polls = [pending('/t/poll?timeout_ms=20000'), pending('/t/poll?timeout_ms=20000')];
  await h.until(async () => (await s.stats()).polls === 2, T(3000), 'two polls held');
  const woke = await c.ask('wake hello "there"', /^woke /);
  assert.equal(woke.text, 'woke 2');
  for (const { p } of polls) {
    const r = await h.withTimeout(p, T(3000), 'woken poll');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { woke: 'hello "there"' });
    assert.ok(r.ms < T(10000), 'answered by the wake, not by its timeout');
  }
  assert.equal((await s.stats()).polls, 0);
  c.close();
  await c.waitClose();
});

test('a woken long poll does not time out afterwards (on_timeout is not called for it)', async () => {
  const c = await connect(s, '', 'early');
  const before_ = await s.stats();
  const p = pending('/t/poll?timeout_ms=300');
  await h.until(async () => (await s.stats()).polls === before_.polls + 1, T(3000), 'poll held');
  await c.ask('wake early', 'woke 1');
  assert.deepEqual((await p.p).json, { woke: 'early' });
  await sleep(T(500));
  assert.equal((await s.stats()).timeouts, before_.timeouts, 'on_timeout ran for an answered request');
  c.close();
  await c.waitClose();
});

test('a long poll times out at about timeout_ms with what on_timeout says', async () => {
  const { p } = pending('/t/poll?timeout_ms=300');
  const r = await h.withTimeout(p, T(5000), 'timed out poll');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { timeout: true });
  assert.ok(r.ms >= 290, `answered after ${r.ms} ms, before its 300 ms`);
  assert.ok(r.ms < T(1500), `answered after ${r.ms} ms`);
  assert.equal((await s.stats()).polls, 0);
});

test('an aborted long poll: on_abort runs, no crash, a wake skips it, a later poll works', async () => {
  const before_ = await s.stats();
  const a = pending('/t/poll?timeout_ms=400');
  a.p.catch(() => {});
  await h.until(async () => (await s.stats()).polls === before_.polls + 1, T(3000), 'poll held');
  a.req.destroy();
  await h.until(async () => (await s.stats()).aborted === before_.aborted + 1, T(3000), 'on_abort ran');
  assert.equal((await s.stats()).polls, before_.polls);
  // its timer was cancelled with it: nothing happens at 400 ms
  await sleep(500);
  const c = await connect(s, '', 'w2');
  assert.equal((await c.ask('wake nobody', /^woke /)).text, 'woke 0');
  const b = pending('/t/poll?timeout_ms=5000');
  await h.until(async () => (await s.stats()).polls === 1, T(3000), 'second poll held');
  await c.ask('wake later', 'woke 1');
  assert.deepEqual((await b.p).json, { woke: 'later' });
  assert.equal(s.exitCode, undefined);
  c.close();
  await c.waitClose();
});

test('headers and cookies round-trip; Set-Cookie and custom response headers', async () => {
  const r = await s.get('/t/headers', {
    headers: { 'X-Test': 'custom value', Cookie: 'a=1; b=two', 'User-Agent': 'rt-test/1', Authorization: 'Bearer tok-123' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.json['X-Test'], 'custom value');
  assert.equal(r.json['user-agent'], 'rt-test/1');
  assert.equal(r.json.cookie_a, '1');
  assert.equal(r.json.cookie_b, 'two');
  assert.equal(r.json.bearer, 'tok-123');
  assert.equal(r.json.method, 'GET');
  assert.equal(r.headers['x-one'], '1');
  assert.equal(r.headers['x-two'], 'two words');
  assert.equal(r.headers['x-bad'], undefined);
  assert.equal(r.headers.injected, undefined, 'a CR LF in a header value must be refused');
  const sc = r.headers['set-cookie'];
  assert.equal(sc.length, 1);
  assert.match(sc[0], /^sid=abc123; /);
  assert.match(sc[0], /; Path=\//);
  assert.match(sc[0], /; HttpOnly/);
  assert.match(sc[0], /; SameSite=Strict/);
  assert.match(sc[0], /; Max-Age=60/);
  // a quoted value, and the cookies in another order with others around
  const q = await s.get('/t/headers', { headers: { Cookie: 'ab=no; b="quoted"; a=first; a=second' } });
  assert.equal(q.json.cookie_a, 'first');
  assert.equal(q.json.cookie_b, 'quoted');
  const none = await s.get('/t/headers');
  assert.equal(none.json.cookie_a, null);
  assert.equal(none.json['X-Test'], null);
});

test('several Cookie headers: each searched in order, the first pair with the name wins', async () => {
  const r = await rawRequest(s, 'GET /t/headers HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2; a=3\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  const json = JSON.parse(r.text.split('\r\n\r\n')[1]);
  assert.equal(json.cookie_a, '1');
  assert.equal(json.cookie_b, '2');
});

test('path parameters are percent-decoded; a malformed escape does not match', async () => {
  const r = await s.send('/t/items/a%20b', 'POST', '{"k":1}');
  assert.equal(r.status, 201);
  assert.deepEqual(r.json, { id: 'a b', len: 7 });
  assert.equal((await s.get('/t/committed/a%20b')).json.visible, true);
  assert.equal((await s.get('/t/committed/%C3%A9t%C3%A9')).json.n, 'été');
  // decoded once: an escaped '%' stays a '%'
  assert.equal((await s.get('/t/committed/50%2541')).json.n, '50%41');
  assert.equal((await s.get('/t/committed/50%25')).json.n, '50%');
  // malformed escapes are refused before any route sees them (lws says 403)
  for (const bad of ['/t/committed/bad%2', '/t/committed/bad%zz']) {
    const r = await s.get(bad);
    assert.ok(r.status >= 400 && r.status < 500, `${bad}: ${r.status}`);
  }
  assert.equal((await s.get('/t/committed/')).status, 404, 'a parameter is never empty');
  assert.equal((await s.get('/t/committed/1/2')).status, 404, 'a parameter is one segment');
});

test('HEAD of a GET route: the headers, Content-Length of the GET, no body', async () => {
  const g = await s.get('/t/headers');
  const r = await rawRequest(s, 'HEAD /t/headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-one'], '1');
  assert.match(r.headers['set-cookie'], /^sid=abc123/);
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(g.text.replace('"GET"', '"HEAD"')));
  assert.equal(r.text.split('\r\n\r\n')[1], '', 'no body after the headers');
});

test('binary upload: byte count and checksum, NULs included', async () => {
  const body = Buffer.alloc(3000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256; // NULs every 256 bytes
  let fnv = 2166136261;
  let nuls = 0;
  for (const b of body) {
    fnv = Math.imul(fnv ^ b, 16777619) >>> 0;
    nuls += b === 0;
  }
  const r = await s.send('/t/upload', 'POST', body, 'application/octet-stream');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { bytes: 3000, nuls, fnv });
  assert.ok(nuls > 5);
  // JSON to a route that takes octets: 415
  assert.equal((await s.send('/t/upload', 'POST', '{}')).status, 415);
});

test('CORS: preflight from an allowed origin 204 with the Allow-* headers, another origin 403', async () => {
  const ok = await s.get('/t/items/1', {
    method: 'OPTIONS',
    headers: { Origin: 'http://ok.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-test' },
  });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers['access-control-allow-origin'], 'http://ok.example');
  assert.match(ok.headers['access-control-allow-methods'], /\bPOST\b/);
  assert.match(ok.headers['access-control-allow-headers'], /content-type/i);
  assert.match(ok.headers['access-control-allow-headers'], /x-test/i);
  assert.match(ok.headers.vary, /Origin/);
  const bad = await s.get('/t/items/1', {
    method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(bad.status, 403);
  assert.equal(bad.headers['access-control-allow-origin'], undefined);
  // an origin that only starts like the allowed one
  const prefix = await s.get('/t/items/1', { method: 'OPTIONS', headers: { Origin: 'http://ok.example.evil' } });
  assert.equal(prefix.status, 403);
});

test('CORS: a simple GET from the allowed origin carries Allow-Origin and Vary; others do not', async () => {
  const ok = await s.get('/t/headers', { headers: { Origin: 'http://ok.example' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], 'http://ok.example');
  assert.match(ok.headers.vary, /Origin/);
  const other = await s.get('/t/headers', { headers: { Origin: 'http://evil.example' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  const none = await s.get('/t/headers');
  assert.equal(none.headers['access-control-allow-origin'], undefined);
});

test('CORS with "*": any origin gets "*" and never credentials (cookies stay same-origin)', async () => {
  const w = await startRt(['--cors-origins', '*'], 'http-star');
  const r = await w.get('/t/headers', { headers: { Origin: 'http://anyone.example' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.equal(r.headers['access-control-allow-credentials'], undefined);
  // a list naming an origin and "*": the named one gets itself and credentials
  const both = await startRt(['--cors-origins', 'http://ok.example,*'], 'http-both');
  const named = await both.get('/t/headers', { headers: { Origin: 'http://ok.example' } });
  assert.equal(named.headers['access-control-allow-origin'], 'http://ok.example');
  assert.equal(named.headers['access-control-allow-credentials'], 'true');
  const other = await both.get('/t/headers', { headers: { Origin: 'http://other.example' } });
  assert.equal(other.headers['access-control-allow-origin'], '*');
});

test('transport refusals: 404, 405 with Allow, 411, 413, 415, 400', async () => {
  const nf = await s.get('/t/nothing-here');
  assert.equal(nf.status, 404);
  const na = await s.get('/t/only-put');
  assert.equal(na.status, 405);
  assert.deepEqual(na.headers.allow.split(/,\s*/).sort(), ['OPTIONS', 'PUT']);
  const na2 = await s.send('/t/headers', 'POST', '{}');
  assert.equal(na2.status, 405);
  assert.deepEqual(na2.headers.allow.split(/,\s*/).sort(), ['GET', 'HEAD', 'OPTIONS']);
  assert.equal((await s.send('/t/only-put', 'PUT', '{}')).status, 200);

  const noLen = await rawRequest(s, 'POST /t/items/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}');
  assert.equal(noLen.status, 411);
  const big = await rawRequest(s, 'POST /t/items/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{');
  assert.equal(big.status, 413);
  const atLimit = await s.send('/t/items/lim', 'POST', JSON.stringify({ p: 'x'.repeat(4096 - 8) }));
  assert.equal(atLimit.status, 201, 'exactly --max-http-body is accepted');
  assert.equal(atLimit.json.len, 4096);
  const type = await s.send('/t/items/1', 'POST', 'hello', 'text/plain');
  assert.equal(type.status, 415);
  const noType = await rawRequest(s, 'POST /t/items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
  assert.equal(noType.status, 415);
  const smuggle = await rawRequest(s,
    'POST /t/items/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}');
  assert.equal(smuggle.status, 400);
  assert.equal((await s.get('/t/committed/1')).json.visible, false, 'no refused request was stored');
  // the server still answers
  assert.equal((await s.get('/t/stats')).status, 200);
});

test('keep-alive: requests answered at once and deferred ones share one connection, in order', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path) => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: s.port, path, agent }, (res) => {
      let text = '';
      const port = res.socket.localPort;
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text), port }));
    });
    req.on('error', reject);
  });
  try {
    const a = await h.withTimeout(get('/t/stats'), T(3000), 'stats');
    const b = await h.withTimeout(get('/t/poll?timeout_ms=100'), T(3000), 'poll');
    const c = await h.withTimeout(get('/t/committed/ka'), T(3000), 'committed');
    assert.deepEqual(b.json, { timeout: true });
    assert.equal(c.json.visible, false);
    assert.equal(a.port, b.port, 'the deferred request reused the connection');
    assert.equal(b.port, c.port, 'and the connection went on after its answer');
    // a long poll woken while the next request waits behind it on the same socket
    const w = await connect(s, '', 'ka-waker');
    const held = get('/t/poll?timeout_ms=20000');
    const behind = get('/t/stats');
    await h.until(async () => (await s.stats()).polls === 1, T(3000), 'poll held');
    await w.ask('wake ka', 'woke 1');
    assert.deepEqual((await h.withTimeout(held, T(3000), 'held')).json, { woke: 'ka' });
    assert.equal((await h.withTimeout(behind, T(3000), 'behind')).status, 200);
    w.close();
    await w.waitClose();
  } finally {
    agent.destroy();
  }
});

test('pipelined requests (one TCP write): every one answered in order, the server goes on', async () => {
  const r = await rawRequest(s,
    'GET /t/committed/p1 HTTP/1.1\r\nHost: x\r\n\r\n'
    + 'GET /t/poll?timeout_ms=100 HTTP/1.1\r\nHost: x\r\n\r\n'
    + 'GET /t/headers HTTP/1.1\r\nHost: x\r\nX-Test: third\r\n\r\n'
    + 'GET /t/committed/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    { settle: T(1500) });
  const bodies = r.text.split('HTTP/1.1 ').slice(1).map((part) => part.split('\r\n\r\n')[1]);
  assert.equal(bodies.length, 4, r.text);
  assert.equal(bodies[0], '{"n":"p1","visible":false}');
  assert.equal(bodies[1], '{"timeout":true}');
  assert.equal(JSON.parse(bodies[2])['X-Test'], 'third');
  assert.equal(bodies[3], '{"n":"p1","visible":false}');
  assert.equal((await s.get('/t/stats')).status, 200);
});

test('a request pipelined behind a body: the connection is closed, the server goes on', async () => {
  const body = '{"p":1}';
  const r = await rawRequest(s,
    `POST /t/items/p2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    + 'GET /t/committed/p2 HTTP/1.1\r\nHost: x\r\n\r\n',
    { settle: T(1500) });
  // whatever this client got, the server answers others at once
  assert.ok(r.text.length >= 0);
  const st = await s.get('/t/stats');
  assert.equal(st.status, 200);
  assert.equal((await s.send('/t/items/p3', 'POST', body)).status, 201);
});
