// web_assets.test.mjs: the binary serves the realtime test client page and the
// socket.io-client bundle, the therapy web client's page, script and style sheet, and the
// case dashboard's pages, scripts and style sheet (handlers/web.c) byte for byte as the
// files they are built from (handlers/web/realtime-test-client.html, the bundle npm
// installed into tests/node, web/therapy/, web/dashboard/), with their content types, an ETag, Cache-Control, a 304 for a
// matching If-None-Match, and headers only for HEAD. Raw sockets where the bytes on
// the wire matter (no body after HEAD or 304).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ROOT, T, cleanup, startServer, withTimeout } from '../integration/harness.mjs';

const FILES = [
  {
    url: '/realtime/test-client.html',
    file: path.join(ROOT, 'handlers', 'web', 'realtime-test-client.html'),
    type: 'text/html; charset=utf-8',
  },
  {
    url: '/realtime/socket.io.min.js',
    file: path.join(ROOT, 'tests', 'node', 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js'),
    type: 'application/javascript',
  },
  {
    url: '/therapy/',
    file: path.join(ROOT, 'web', 'therapy', 'index.html'),
    type: 'text/html; charset=utf-8',
  },
  {
    url: '/therapy/app.js',
    file: path.join(ROOT, 'web', 'therapy', 'app.js'),
    type: 'application/javascript; charset=utf-8',
  },
  {
    url: '/therapy/style.css',
    file: path.join(ROOT, 'web', 'therapy', 'style.css'),
    type: 'text/css; charset=utf-8',
  },
  ...[
    ['/dashboard/', 'index.html'],
    ['/dashboard/app.js', 'app.js'],
    ['/dashboard/style.css', 'style.css'],
    ['/dashboard/chat.js', 'chat.js'],
    ['/dashboard/view.js', 'view.js'],
    ['/api/v1/get_chat', 'chat.html'],
    ['/api/v1/button_view', 'view.html'],
    ['/api/v1/faq_view', 'view.html'],
  ].map(([url, name]) => ({
    url,
    file: path.join(ROOT, 'web', 'dashboard', name),
    type: name.endsWith('.html') ? 'text/html; charset=utf-8'
      : name.endsWith('.js') ? 'application/javascript; charset=utf-8' : 'text/css; charset=utf-8',
  })),
];

let server;
before(async () => {
  server = await startServer({ demo: false, tag: 'web' });
});
after(cleanup);

/** GET/HEAD/... through node's client: {status, headers, body: Buffer}. */
function fetchRaw(pathname, { method = 'GET', headers = {} } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: pathname, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  }), T(5000), `${method} ${pathname}`);
}

/** One request on a raw socket (Connection: close); everything the server wrote. */
function wire(requestText) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    sock.on('connect', () => sock.write(requestText));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks)));
    sock.on('error', reject);
  }), T(5000), `raw ${requestText.split('\r\n')[0]}`);
}

function splitResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a complete head: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).toLowerCase();
    headers[k] = headers[k] ? `${headers[k]}, ${l.slice(i + 1).trim()}` : l.slice(i + 1).trim();
  }
  return { status, headers, rest: buf.subarray(end + 4) };
}

for (const f of FILES) {
  test(`GET ${f.url}: the file, byte for byte, with its headers`, async () => {
    const want = fs.readFileSync(f.file);
    const r = await fetchRaw(f.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], f.type);
    assert.equal(Number(r.headers['content-length']), want.length);
    assert.ok(r.body.equals(want), `the body is ${path.relative(ROOT, f.file)} (${r.body.length} vs ${want.length} bytes)`);
    // the ETag is the start of the content's SHA-256, so it changes with the content
    const sha = crypto.createHash('sha256').update(want).digest('hex');
    assert.equal(r.headers.etag, `"${sha.slice(0, 16)}"`);
    assert.match(r.headers['cache-control'], /(^|,\s*)no-cache(\s*,|$)/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const again = await fetchRaw(f.url);
    assert.equal(again.headers.etag, r.headers.etag, 'the ETag is stable');
  });

  test(`GET ${f.url} with If-None-Match: 304 and no body when it matches, 200 when not`, async () => {
    const { headers: { etag } } = await fetchRaw(f.url, { method: 'HEAD' });
    const matching = [etag, `W/${etag}`, `"0000000000000000", ${etag}`, ` "x" ,W/${etag} `, '*'];
    for (const inm of matching) {
      const raw = await wire(`GET ${f.url} HTTP/1.1\r\nHost: t\r\nIf-None-Match: ${inm}\r\nConnection: close\r\n\r\n`);
      const r = splitResponse(raw);
      assert.equal(r.status, 304, `If-None-Match: ${inm}`);
      assert.equal(r.headers.etag, etag, '304 repeats the ETag');
      assert.match(r.headers['cache-control'], /no-cache/);
      assert.equal(r.rest.length, 0, 'no body after a 304');
    }
    for (const inm of ['"0000000000000000"', etag.slice(0, -2) + '"', `${etag.slice(1, -1)}`]) {
      const r = await fetchRaw(f.url, { headers: { 'If-None-Match': inm } });
      assert.equal(r.status, 200, `If-None-Match: ${inm}`);
      assert.ok(r.body.equals(fs.readFileSync(f.file)));
    }
  });

  test(`HEAD ${f.url}: the GET's headers, no body`, async () => {
    const want = fs.readFileSync(f.file);
    const raw = await wire(`HEAD ${f.url} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    const r = splitResponse(raw);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], f.type);
    assert.equal(Number(r.headers['content-length']), want.length);
    assert.match(r.headers.etag, /^"[0-9a-f]{16}"$/);
    assert.equal(r.rest.length, 0, 'no body after HEAD');
  });
}

test('the page: its own security headers, and every script from this server', async () => {
  const r = await fetchRaw('/realtime/test-client.html');
  const csp = r.headers['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  const html = r.body.toString('utf8');
  const srcs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/g)].map((m) => m[1]);
  assert.ok(srcs.includes('/realtime/socket.io.min.js'), 'the page loads the bundle from this server');
  for (const s of srcs) assert.match(s, /^(\/realtime\/|data:)/, `no external URL: ${s}`);
  assert.doesNotMatch(html, /@import|url\(\s*["']?(https?:)?\/\//, 'no external style');
  // the bundle is not served with the page's CSP (it is not a document)
  const js = await fetchRaw('/realtime/socket.io.min.js');
  assert.equal(js.headers['content-security-policy'], undefined);
});

test('the therapy page: a CSP without inline script or style, and every resource from this server', async () => {
  const r = await fetchRaw('/therapy/');
  const csp = r.headers['content-security-policy'];
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.deepEqual(directives['script-src'], ["'self'"], 'no inline script');
  assert.deepEqual(directives['style-src'], ["'self'"], 'no inline style');
  assert.deepEqual(directives['connect-src'], ["'self'"]);
  assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  const html = r.body.toString('utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script>');
  assert.doesNotMatch(html, /<style\b|\sstyle\s*=/i, 'no inline style');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  const srcs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/g)].map((m) => m[1]);
  assert.ok(srcs.includes('/therapy/app.js') && srcs.includes('/therapy/style.css'), `the page's resources: ${srcs}`);
  for (const s of srcs) assert.match(s, /^(\/therapy\/|data:)/, `no external URL: ${s}`);
  for (const u of ['/therapy/app.js', '/therapy/style.css']) {
    const a = await fetchRaw(u);
    assert.equal(a.headers['content-security-policy'], undefined, `${u} is not a document`);
  }
  const css = fs.readFileSync(path.join(ROOT, 'web', 'therapy', 'style.css'), 'utf8');
  assert.doesNotMatch(css, /@import|url\(\s*["']?(https?:)?\/\//, 'no external style');
  const js = fs.readFileSync(path.join(ROOT, 'web', 'therapy', 'app.js'), 'utf8');
  assert.doesNotMatch(js, /\.innerHTML\s*=|insertAdjacentHTML|document\.write/, 'user text never becomes markup');
});

test('GET /therapy: 308 to /therapy/', async () => {
  const r = await fetchRaw('/therapy');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, '/therapy/');
});

/** A CSP header as {directive: [values]}. */
function cspDirectives(csp) {
  return Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
}

/** No inline script, style or handler in the page; every resource from /dashboard/ (or data:). */
function assertStrictPage(html, resources) {
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script>');
  assert.doesNotMatch(html, /<style\b|\sstyle\s*=/i, 'no inline style');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  const srcs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/g)].map((m) => m[1]);
  for (const r of resources) assert.ok(srcs.includes(r), `the page loads ${r}: ${srcs}`);
  for (const s of srcs) assert.match(s, /^(\/dashboard\/|data:)/, `no external URL: ${s}`);
}

test('the dashboard page: a strict CSP that allows http(s) frames, and every resource from this server', async () => {
  const r = await fetchRaw('/dashboard/');
  const d = cspDirectives(r.headers['content-security-policy']);
  assert.deepEqual(d['default-src'], ["'none'"]);
  assert.deepEqual(d['script-src'], ["'self'"], 'no inline script');
  assert.deepEqual(d['style-src'], ["'self'"], 'no inline style');
  assert.deepEqual(d['connect-src'], ["'self'"], "the API and the WebSocket: 'self' covers ws: on this host");
  assert.deepEqual(d['frame-src'], ["'self'", 'http:', 'https:'], 'the IFRAME components');
  assert.deepEqual(d['frame-ancestors'], ["'none'"]);
  assert.deepEqual(d['base-uri'], ["'none'"]);
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assertStrictPage(r.body.toString('utf8'), ['/dashboard/app.js', '/dashboard/style.css']);
  for (const u of ['/dashboard/app.js', '/dashboard/style.css', '/dashboard/chat.js', '/dashboard/view.js']) {
    const a = await fetchRaw(u);
    assert.equal(a.headers['content-security-policy'], undefined, `${u} is not a document`);
  }
  const css = fs.readFileSync(path.join(ROOT, 'web', 'dashboard', 'style.css'), 'utf8');
  assert.doesNotMatch(css, /@import|url\(\s*["']?(https?:)?\/\//, 'no external style');
  for (const f of ['app.js', 'chat.js', 'view.js']) {
    const js = fs.readFileSync(path.join(ROOT, 'web', 'dashboard', f), 'utf8');
    assert.doesNotMatch(js, /\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      `${f}: server text never becomes markup or code`);
  }
});

for (const [url, script] of [
  ['/api/v1/get_chat', '/dashboard/chat.js'],
  ['/api/v1/button_view', '/dashboard/view.js'],
  ['/api/v1/faq_view', '/dashboard/view.js'],
]) {
  test(`${url}: the framed page, framable by this server only, strict otherwise`, async () => {
    const r = await fetchRaw(`${url}?case_id=1&fin_session_id=x`);
    assert.equal(r.status, 200, 'the query string does not change the page');
    const d = cspDirectives(r.headers['content-security-policy']);
    assert.deepEqual(d['default-src'], ["'none'"]);
    assert.deepEqual(d['script-src'], ["'self'"]);
    assert.deepEqual(d['style-src'], ["'self'"]);
    assert.deepEqual(d['connect-src'], ["'self'"]);
    assert.deepEqual(d['frame-ancestors'], ["'self'"], 'the dashboard (same origin) may frame it, nobody else');
    assert.equal(d['frame-src'], undefined, 'it frames nothing');
    assert.equal(r.headers['referrer-policy'], 'no-referrer', 'the session in its URL is never sent on as a Referer');
    assertStrictPage(r.body.toString('utf8'), [script, '/dashboard/style.css']);
  });
}

test('GET /dashboard: 308 to /dashboard/', async () => {
  const r = await fetchRaw('/dashboard');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, '/dashboard/');
});
