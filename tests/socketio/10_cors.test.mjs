// CORS on the polling transport when the server is given an origin list
// (here one origin, CORS_ORIGIN): the preflight, the headers on answers and on
// refusals, and nothing for an origin not in the list. The WebSocket upgrade
// is not subject to CORS and is not checked here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, cleanup, httpRequest, eioUrl, Polling, CORS_ORIGIN } from './sio_harness.mjs';

let s;
before(async () => { s = await startTarget({ corsOrigins: CORS_ORIGIN }); });
after(cleanup);

const FROM = { Origin: CORS_ORIGIN };
const OTHER = 'http://elsewhere.test';

const list = (v) => String(v || '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);

for (const base of ['/engine.io/', '/socket.io/']) {
  test(`CORS (${base}): an OPTIONS preflight from the allowed origin → 204 allowing that origin, GET and POST, and the content-type header`, async () => {
    const r = await httpRequest(s, eioUrl(base), {
      method: 'OPTIONS',
      headers: { ...FROM, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], CORS_ORIGIN);
    const methods = list(r.headers['access-control-allow-methods']);
    assert.ok(methods.includes('get') && methods.includes('post'), `allow-methods: ${r.headers['access-control-allow-methods']}`);
    assert.ok(list(r.headers['access-control-allow-headers']).includes('content-type'), `allow-headers: ${r.headers['access-control-allow-headers']}`);
  });
}

test('CORS: the handshake, POST and GET answers carry Access-Control-Allow-Origin for the allowed origin', async () => {
  const hs = await httpRequest(s, eioUrl('/engine.io/'), { headers: FROM });
  assert.equal(hs.status, 200);
  assert.equal(hs.headers['access-control-allow-origin'], CORS_ORIGIN);
  const p = new Polling(s);
  p.sid = JSON.parse(hs.text.slice(1)).sid;
  const post = await p.post('4cors', { headers: FROM });
  assert.equal(post.text, 'ok');
  assert.equal(post.headers['access-control-allow-origin'], CORS_ORIGIN);
  const get = await p.get({ headers: FROM });
  assert.equal(get.text, '4cors');
  assert.equal(get.headers['access-control-allow-origin'], CORS_ORIGIN);
});

test('CORS: a refusal (400 unknown sid) carries Access-Control-Allow-Origin too, so a browser can read it', async () => {
  const r = await httpRequest(s, eioUrl('/socket.io/', { sid: 'NoSuchSession0000000' }), { headers: FROM });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { code: 1, message: 'Session ID unknown' });
  assert.equal(r.headers['access-control-allow-origin'], CORS_ORIGIN);
});

test('CORS: an origin not in the list gets no Access-Control-Allow-Origin (neither its own nor *)', async () => {
  const pre = await httpRequest(s, eioUrl('/engine.io/'), {
    method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
  const hs = await httpRequest(s, eioUrl('/engine.io/'), { headers: { Origin: OTHER } });
  assert.equal(hs.headers['access-control-allow-origin'], undefined);
});

test('CORS: a request without an Origin header (not a browser) is served as usual', async () => {
  const p = new Polling(s);
  await p.handshake();
  await p.send('4no-origin');
  assert.equal((await p.get()).text, '4no-origin');
});
