// Protocol validation on raw sockets (docs/operations.md, "Protocol validation"):
// HTTP request smuggling, unknown methods and malformed request lines; the
// WebSocket handshake (RFC 6455 4.2.1, 4.4); WebSocket framing (5.2, 5.5, 7.4).
// Every exchange is bounded: a connection the server holds open without an
// answer is a failure found within HOLD_MS, never a wait for lws' 10 s timeouts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import * as h from './harness.mjs';

const HOLD_MS = h.T(1500);
const goodKey = () => crypto.randomBytes(16).toString('base64');
const acceptOf = (key) => crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
let s;

before(async () => {
  s = await h.startServer({ tag: 'protocol' });
});
after(h.cleanup);

// Raw sockets ---------------------------------------------------------------

/**
 * Connect, write `bytes`, and read until the server closes or `ms` pass.
 * Resolves {data, closed, ms}: closed is true when the server ended the
 * connection (FIN or reset), false when it was still open at the deadline.
 * With `until(data)`, also resolves as soon as it returns true (the socket is
 * then left open: see `sock`).
 */
function exchange(bytes, { ms = HOLD_MS, until } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(s.port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (closed || !until) sock.destroy();
      resolve({ data, closed, ms: Date.now() - t0, sock });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (until && until(data)) finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? finish(true) : reject(e)));
  });
}

/** Every complete HTTP response in buf: [{status, line, headers, body}]. */
function responses(buf) {
  const out = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const l of head.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
    const len = Number(headers['content-length'] || 0);
    out.push({ status: m ? Number(m[1]) : 0, line: head[0], headers, body: buf.subarray(end + 4, end + 4 + len).toString() });
    at = end + 4 + len;
  }
  return out;
}

const show = (r) => `closed=${r.closed} after ${r.ms} ms: ${JSON.stringify(r.data.toString('latin1').slice(0, 300))}`;

/** Run every case; fail once with all the cases that failed. */
async function all(cases) {
  const failed = [];
  for (const [what, fn] of cases) {
    try { await fn(); } catch (e) { failed.push(`${what}: ${e.message.split('\n')[0]}`); }
  }
  assert.deepEqual(failed, []);
}

/**
 * Send a request; expect exactly one answer with a status in `statuses`,
 * promptly, and, when `close`, the connection closed after it. No second
 * answer may follow (a request hidden in a body must not be served).
 */
async function expectRefused(bytes, statuses, { close = false, orClose = false } = {}) {
  const r = await exchange(bytes, { until: close ? undefined : (d) => responses(d).length > 0 });
  let second = r;
  if (!r.closed) {
    // the connection is still open after the answer: nothing more may come
    second = await new Promise((resolve) => {
      let extra = Buffer.alloc(0);
      let closed = false;
      r.sock.on('data', (d) => { extra = Buffer.concat([extra, d]); });
      r.sock.on('end', () => { closed = true; });
      setTimeout(() => { r.sock.destroy(); resolve({ data: Buffer.concat([r.data, extra]), closed, ms: r.ms }); }, 300);
    });
  }
  const got = responses(second.data);
  if (orClose && got.length === 0) {
    assert.ok(r.closed, `no answer and not closed: ${show(r)}`);
    return null;
  }
  assert.equal(got.length, 1, `exactly one answer: ${show(second)}`);
  assert.ok(statuses.includes(got[0].status), `status ${got[0].line}, want ${statuses}: ${show(second)}`);
  if (close) assert.ok(r.closed, `connection closed after the answer: ${show(r)}`);
  assert.ok(r.ms < HOLD_MS, `answered promptly: ${show(r)}`);
  return got[0];
}

// HTTP ------------------------------------------------------------------------

test('smuggling: Content-Length with Transfer-Encoding is 400, closed, and the hidden request is not served', async () => {
  const hidden = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
  for (const [cl, te] of [['Content-Length: 4', 'Transfer-Encoding: chunked'], ['Transfer-Encoding: chunked', 'Content-Length: 4'], ['Content-Length: 5', 'Transfer-Encoding: chunked'], ['Content-Length: 5', 'Transfer-Encoding: identity']]) {
    const req = `GET /healthz HTTP/1.1\r\nHost: x\r\n${cl}\r\n${te}\r\n\r\n0\r\n\r\n${hidden}`;
    const r = await expectRefused(req, [400], { close: true });
    assert.equal(r.headers.connection, 'close');
  }
  // chunked alone, with a request after the last chunk
  await expectRefused(`POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`, [400], { close: true });
  // the server still answers
  assert.equal((await h.request(s, '/healthz')).status, 200);
});

test('unknown and unsupported methods get 501 and a close at once, never a held connection', async () => {
  const lines = ['CONNECT example.com:443 HTTP/1.1', 'TRACE / HTTP/1.1', 'TRACE /healthz HTTP/1.1', 'PROPFIND /healthz HTTP/1.1', 'FOO /healthz HTTP/1.1', 'G@T /healthz HTTP/1.1', 'GET@ /healthz HTTP/1.1'];
  await all(lines.map((line) => [line, () => expectRefused(`${line}\r\nHost: x\r\n\r\n`, [501], { close: true })]));
  // a known method on a path that does not take it is still 405 (keep-alive)
  const r = await expectRefused('DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n', [405]);
  assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
});

test('malformed request lines get 400 and a close at once (an overlong one may be closed without an answer)', async () => {
  const cases = [
    ['no version', 'GET /healthz\r\nHost: x\r\n\r\n'],
    ['HTTP/9.9', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
    ['HTTP/2.0', 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n'],
    ['not HTTP', 'GET /healthz XTTP/1.1\r\nHost: x\r\n\r\n'],
    ['control byte in path', 'GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['DEL in path', 'GET /healthz\x7f HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['no path', 'GET  HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['bad %-escape', 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['escaped control byte', 'GET /a%01 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['bad Content-Length, request after it', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4x\r\n\r\nabcdGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['control byte in an upgrade path', `GET /ws/chat\x01 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${goodKey()}\r\nSec-WebSocket-Version: 13\r\n\r\n`],
    ['long URI', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [400, 414]],
    ['long URI query', `GET /healthz?${'a=b&'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [400, 414]],
  ];
  await all(cases.map(([what, req, orClose]) => [what, async () => {
    const r = await exchange(req);
    const got = responses(r.data);
    assert.ok(r.ms < HOLD_MS, `${what}: held open: ${show(r)}`);
    if (got.length === 0 && orClose) {
      assert.ok(r.closed, `${what}: neither answered nor closed: ${show(r)}`);
    } else {
      assert.equal(got.length, 1, `${what}: ${show(r)}`);
      assert.ok((orClose || [400]).includes(got[0].status), `${what}: ${got[0].line}`);
      assert.ok(r.closed, `${what}: closed after the answer: ${show(r)}`);
    }
  }]));
  assert.equal((await h.request(s, '/healthz')).status, 200);
});

// WebSocket handshake -----------------------------------------------------------


/** An upgrade request for /ws/chat; `headers` override or (null) remove the defaults. */
function upgrade(headers = {}, { version = 'HTTP/1.1', path } = {}) {
  const all = {
    Host: `127.0.0.1:${s.port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': goodKey(),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const p = path || `/ws/chat?token=${encodeURIComponent(s.users.alice.token)}`;
  let out = `GET ${p} ${version}\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null) out += `${k}: ${v}\r\n`;
  return { text: `${out}\r\n`, key: all['Sec-WebSocket-Key'] };
}

/** The answer to an upgrade request (the first response only). */
async function handshake(req) {
  const r = await exchange(req.text, { until: (d) => d.indexOf('\r\n\r\n') >= 0 });
  if (!r.closed) r.sock.destroy();
  const got = responses(r.data);
  assert.ok(got.length >= 1 || r.data.indexOf('\r\n\r\n') >= 0, `an answer: ${show(r)}`);
  const end = r.data.indexOf('\r\n\r\n');
  const head = r.data.subarray(0, end).toString('latin1');
  return { ...(got[0] || responses(Buffer.concat([r.data.subarray(0, end + 4)]))[0]), head, r };
}

test('Sec-WebSocket-Version other than 13, or none: 426 with Sec-WebSocket-Version: 13', async () => {
  await all(['8', '0', 'abc', '14', '13, 8', null].map((v) => [`version ${v}`, async () => {
    const a = await handshake(upgrade({ 'Sec-WebSocket-Version': v }));
    assert.equal(a.status, 426, `version ${v}: ${a.head}`);
    assert.equal(a.headers['sec-websocket-version'], '13', `version ${v}: ${a.head}`);
    assert.ok(!a.headers['sec-websocket-accept'], `version ${v}: not upgraded`);
    assert.match(a.headers['content-type'], /^application\/json/);
    assert.ok(JSON.parse(a.body).error, `version ${v}: the error writer's body: ${a.body}`);
  }]));
});

test('a Sec-WebSocket-Key that is not 16 bytes of base64, or none: 400', async () => {
  const keys = ['abc', 'AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAA=', 'AAAAAAAAAAAAAAAAAAAAAA=A', '!!!!!!!!!!!!!!!!!!!!!!==', 'AAAAAAAAAAAAAAAAAAAAA===', ' AAAAAAAAAAAAAAAAAAAAA==', crypto.randomBytes(17).toString('base64'), crypto.randomBytes(15).toString('base64'), '', null];
  await all(keys.map((k) => [`key ${JSON.stringify(k)}`, async () => {
    const a = await handshake(upgrade({ 'Sec-WebSocket-Key': k }));
    assert.equal(a.status, 400, a.head);
    assert.ok(JSON.parse(a.body).error, a.body);
  }]));
});

test('an HTTP/1.0 upgrade request is not upgraded: 400', async () => {
  const a = await handshake(upgrade({}, { version: 'HTTP/1.0' }));
  assert.equal(a.status, 400, a.head);
  assert.ok(!a.headers['sec-websocket-accept']);
});

test('a valid handshake is upgraded; permessage-deflate offered is not accepted', async () => {
  const req = upgrade({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
  const a = await handshake(req);
  assert.equal(a.status, 101, a.head);
  assert.equal(a.headers['sec-websocket-accept'], acceptOf(req.key));
  assert.equal(a.headers['sec-websocket-extensions'], undefined, a.head);
});

// WebSocket framing ----------------------------------------------------------------

/** A client frame: byte0 given whole (FIN, RSV, opcode), payload masked unless mask: false. */
function frame(byte0, payload = Buffer.alloc(0), { mask = true, len } = {}) {
  const p = Buffer.from(payload);
  const n = len ?? p.length;
  let head;
  if (n < 126) head = Buffer.from([byte0, (mask ? 0x80 : 0) | n]);
  else if (n < 65536) head = Buffer.from([byte0, (mask ? 0x80 : 0) | 126, n >> 8, n & 255]);
  else throw new Error('not needed');
  if (!mask) return Buffer.concat([head, p]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(p.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([head, key, body]);
}
const closePayload = (code, reason = Buffer.alloc(0)) => Buffer.concat([Buffer.from([code >> 8, code & 255]), Buffer.from(reason)]);

/** The server's frames in buf (unmasked): [{fin, rsv, opcode, payload}]. */
function serverFrames(buf) {
  const out = [];
  let at = 0;
  while (at + 2 <= buf.length) {
    const b0 = buf[at];
    let n = buf[at + 1] & 0x7f;
    let hl = 2;
    if (n === 126) { if (at + 4 > buf.length) break; n = buf.readUInt16BE(at + 2); hl = 4; }
    else if (n === 127) { if (at + 10 > buf.length) break; n = Number(buf.readBigUInt64BE(at + 2)); hl = 10; }
    if (at + hl + n > buf.length) break;
    out.push({ fin: !!(b0 & 0x80), rsv: b0 & 0x70, opcode: b0 & 0x0f, payload: buf.subarray(at + hl, at + hl + n) });
    at += hl + n;
  }
  return out;
}

/**
 * Open /ws/chat raw, prove it works (heartbeat round trip), send `frames`, and
 * read until the server closes. Resolves {close: {code, reason} | null,
 * tcpClosed, frames, ms}: close is the server's close frame, parsed.
 */
async function afterFrames(frames) {
  const req = upgrade();
  const sock = net.connect(s.port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let tcpClosed = false;
  const wake = new Set();
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); for (const w of wake) w(); });
  sock.on('end', () => { tcpClosed = true; for (const w of wake) w(); });
  sock.on('close', () => { tcpClosed = true; for (const w of wake) w(); });
  sock.on('error', () => { tcpClosed = true; for (const w of wake) w(); });
  const wait = (pred, ms, what) => h.withTimeout(new Promise((resolve) => {
    const check = () => { if (pred()) { wake.delete(check); resolve(); } };
    wake.add(check);
    check();
  }), ms, what);
  try {
    sock.write(req.text);
    await wait(() => buf.indexOf('\r\n\r\n') >= 0 || tcpClosed, h.T(3000), 'handshake');
    const end = buf.indexOf('\r\n\r\n');
    assert.match(buf.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
    buf = buf.subarray(end + 4);
    sock.write(frame(0x81, '{"action":"heartbeat"}'));
    await wait(() => serverFrames(buf).some((f) => f.payload.toString().includes('heartbeat_response')) || tcpClosed, h.T(3000), 'heartbeat');
    const skip = serverFrames(buf).reduce((n, f) => n + 2 + f.payload.length, 0);
    buf = buf.subarray(skip);
    const t0 = Date.now();
    for (const f of frames) sock.write(f);
    await wait(() => tcpClosed || serverFrames(buf).some((f) => f.opcode === 8), HOLD_MS, 'close').catch(() => {});
    // A close frame from the server is answered (RFC 6455 5.5.1), unless it
    // echoes ours; then the server closes the TCP connection.
    const sent = frames.some((f) => (f[0] & 0x0f) === 8);
    const from = serverFrames(buf).find((f) => f.opcode === 8);
    if (from && !sent && !tcpClosed) sock.write(frame(0x88, from.payload.subarray(0, 2)));
    await wait(() => tcpClosed, HOLD_MS, 'tcp close').catch(() => {});
    const got = serverFrames(buf);
    const c = got.find((f) => f.opcode === 8);
    const close = c ? { code: c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null, reason: c.payload.subarray(2).toString() } : null;
    return { close, tcpClosed, frames: got, ms: Date.now() - t0, raw: buf };
  } finally {
    sock.destroy();
  }
}

async function expect1002(what, frames) {
  const r = await afterFrames(frames);
  const desc = `${what}: close=${JSON.stringify(r.close)} tcpClosed=${r.tcpClosed} frames=${JSON.stringify(r.frames.map((f) => [f.opcode, f.payload.toString()]))}`;
  assert.ok(r.close, `${desc}: a close frame`);
  assert.equal(r.close.code, 1002, desc);
  assert.ok(!r.frames.some((f) => f.opcode === 1 && f.payload.includes('heartbeat_response')), `${desc}: the frame was not processed`);
  assert.ok(r.tcpClosed, `${desc}: then the TCP close`);
  return r;
}

const HB = '{"action":"heartbeat"}';


test('RSV1, RSV2 or RSV3 set without an extension: close 1002', async () => {
  await all([
    ...[0x40, 0x20, 0x10, 0x70].map((rsv) => [`rsv ${rsv.toString(16)}`, () => expect1002('', [frame(0x81 | rsv, HB)])]),
    ['rsv on a continuation', () => expect1002('', [frame(0x01, '{"action":'), frame(0x80 | 0x40, '"heartbeat"}')])],
    ['rsv on a ping', () => expect1002('', [frame(0x89 | 0x40, 'x')])],
  ]);
});

test('close codes not allowed on the wire: close 1002', async () => {
  await all([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => [`close code ${code}`, () => expect1002('', [frame(0x88, closePayload(code, 'r'))])]));
});

test('a close frame with a 1-byte payload, or a reason that is not UTF-8: close 1002', async () => {
  await all([
    ['1-byte close', () => expect1002('', [frame(0x88, Buffer.from([0x03]))])],
    ['bad UTF-8 reason', () => expect1002('', [frame(0x88, closePayload(1000, Buffer.from([0x62, 0xff, 0x79])))])],
    ['truncated UTF-8 reason', () => expect1002('', [frame(0x88, closePayload(1000, Buffer.from([0x62, 0xe2, 0x9c])))])],
  ]);
});

test('control frames: payload over 125 bytes or fragmented: close 1002', async () => {
  await all([
    ['ping of 126', () => expect1002('', [frame(0x89, Buffer.alloc(126, 0x61))])],
    ['ping of 1000', () => expect1002('', [frame(0x89, Buffer.alloc(1000, 0x61))])],
    ['pong of 200', () => expect1002('', [frame(0x8a, Buffer.alloc(200, 0x61))])],
    ['close of 126', () => expect1002('', [frame(0x88, closePayload(1000, Buffer.alloc(124, 0x61)))])],
    ['fragmented ping', () => expect1002('', [frame(0x09, 'ab'), frame(0x80, 'cd')])],
    ['fragmented close', () => expect1002('', [frame(0x08, closePayload(1000))])],
  ]);
});

test('reserved opcodes and an orphan continuation: close 1002', async () => {
  await all([
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) => [`opcode ${op}`, () => expect1002('', [frame(0x80 | op, 'x')])]),
    ['orphan continuation', () => expect1002('', [frame(0x80, HB)])],
    ['text inside a fragmented message', () => expect1002('', [frame(0x01, '{"action":'), frame(0x81, HB)])],
  ]);
});

test('an unmasked client frame: close 1002', async () => {
  await expect1002('unmasked text', [frame(0x81, HB, { mask: false })]);
});

test('valid closes are echoed with the same code', async () => {
  const valid = [[1000, 'bye ✓'], [1001, ''], [1002, ''], [1003, 'x'], [1007, ''], [1008, ''], [1009, ''], [1010, ''], [1011, ''], [1012, ''], [1013, ''], [1014, ''], [3000, 'app'], [4999, 'private']];
  await all(valid.map(([code, reason]) => [`close ${code}`, async () => {
    const r = await afterFrames([frame(0x88, closePayload(code, reason))]);
    assert.ok(r.close, 'a close frame');
    assert.equal(r.close.code, code, 'echoed');
    assert.ok(r.tcpClosed, 'then closed');
  }]));
  // an empty close is answered with an empty close (no status)
  const r = await afterFrames([frame(0x88)]);
  assert.ok(r.close, 'empty close: a close frame');
  assert.equal(r.close.code, null);
  // pings of up to 125 bytes are answered
  const p = await afterFrames([frame(0x89, Buffer.alloc(125, 0x62)), frame(0x88, closePayload(1000))]);
  const pong = p.frames.find((f) => f.opcode === 0xa);
  assert.ok(pong, 'a pong');
  assert.equal(pong.payload.length, 125);
  assert.equal(p.close.code, 1000);
});
