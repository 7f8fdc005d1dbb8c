// sio_harness.mjs: the Engine.IO v4 / Socket.IO v5 conformance target, and raw
// clients for it (HTTP long-polling by hand, WebSocket frames by hand,
// socket.io-client where a real client is the point). Timeouts, temp dirs and
// process cleanup come from the integration harness (../integration/harness.mjs).
//
// Environment:
//   SIO_TARGET=ref     run against the Node reference (ref_server.mjs beside this
//                      file: socket.io 4.8.4 from tests/node), otherwise against
//                      `$SWITCHBOARD_BIN serve --socketio-conformance`
//   SWITCHBOARD_BIN, SB_TEST_TIMEOUT_SCALE, SB_TEST_SANITIZED, SB_TEST_KEEP as in
//                      the integration harness
//
// Every difference between the two targets is in TARGETS below.
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as h from '../integration/harness.mjs';

export { h };
export const { T, sleep, withTimeout, until, WebSocket } = h;

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
/** socket.io-client 4.8.4 (tests/node): io() and Manager */
export const ioClient = require('socket.io-client').io;
export const IoManager = require('socket.io-client').Manager;

// What the conformance mode is configured with (the same numbers the official
// test suites expect).
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
export const MAX_PAYLOAD = 1000000;
export const CONNECT_TIMEOUT = 1000;
/** the origin the CORS tests start the target with */
export const CORS_ORIGIN = 'http://example.test';

/** Engine.IO packet separator in polling payloads */
export const SEP = '\x1e';

export const REF_SERVER = path.join(here, 'ref_server.mjs');
export const TARGET = process.env.SIO_TARGET === 'ref' ? 'ref' : 'bin';

// Per-target command lines: the only place where the two targets differ.
// opts.corsOrigins: a comma-separated origin list (CORS tests only).
const TARGETS = {
  ref: {
    what: 'reference socket.io server',
    command: (o) => [process.execPath, [
      REF_SERVER, '--port', '0',
      ...(o.corsOrigins ? ['--cors-origins', o.corsOrigins] : []),
    ]],
  },
  bin: {
    what: 'switchboard --socketio-conformance',
    command: (o, dir) => [h.BIN, [
      'serve', '--socketio-conformance', '--port', '0', '--db', path.join(dir, 'c.db'), '--no-demo',
      ...(o.corsOrigins ? ['--cors-origins', o.corsOrigins] : []),
    ]],
  },
};

/**
 * Start the target; resolves once it logged `event=listen ... port=N`.
 * opts.corsOrigins: start it with that CORS origin list.
 * The result is the harness' server ({port, stop(), stderr, ...}) plus
 * eioPath/sioPath helpers. cleanup() (from after()) kills it.
 */
export async function startTarget(opts = {}) {
  const t = TARGETS[TARGET];
  const dir = h.tempDir('sio');
  const [cmd, args] = t.command(opts, dir);
  const s = await h.spawnServer(cmd, args, { listen: /event=listen bind=\S+ port=(\d+)/, stream: 'stderr', what: t.what });
  s.dir = dir;
  s.target = TARGET;
  s.base = `http://127.0.0.1:${s.port}`;
  s.wsBase = `ws://127.0.0.1:${s.port}`;
  return s;
}

export async function cleanup() {
  for (const r of openRequests) r.destroy();
  openRequests.clear();
  for (const c of wsClients) c.terminate();
  wsClients.clear();
  for (const c of sioClients) c.disconnect();
  sioClients.clear();
  for (const m of managers) m.engine?.close();
  managers.clear();
  await h.cleanup();
}

/** `/engine.io/?EIO=4&transport=polling&sid=...` and friends. base: '/engine.io/' or '/socket.io/' */
export function eioUrl(base, { transport = 'polling', sid, extra } = {}) {
  const q = ['EIO=4', `transport=${transport}`];
  if (sid) q.push(`sid=${encodeURIComponent(sid)}`);
  if (extra) q.push(extra);
  return `${base}?${q.join('&')}`;
}

// HTTP ---------------------------------------------------------------------

const openRequests = new Set();

/**
 * One HTTP request, answered or not: resolves {status, headers, body (Buffer),
 * text, json, ms} or, when the server drops the connection instead of
 * answering, {status: 0, error}. Rejects past the deadline.
 * opts: method, headers, body (string|Buffer), ms (deadline), onRequest(req).
 */
export function httpRequest(server, pathAndQuery, opts = {}) {
  const { method = 'GET', headers = {}, body, ms = T(5000) } = opts;
  const t0 = Date.now();
  let req;
  const p = new Promise((resolve) => {
    const hdrs = { ...headers };
    if (body !== undefined && hdrs['Content-Length'] === undefined) hdrs['Content-Length'] = Buffer.byteLength(body);
    req = http.request({ host: '127.0.0.1', port: server.port, path: pathAndQuery, method, headers: hdrs, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('error', (error) => resolve({ status: 0, error, ms: Date.now() - t0 }));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text, json, ms: Date.now() - t0 });
      });
    });
    openRequests.add(req);
    req.on('close', () => openRequests.delete(req));
    req.on('error', (error) => resolve({ status: 0, error, ms: Date.now() - t0 }));
    if (opts.onRequest) opts.onRequest(req);
    if (body !== undefined) req.write(body);
    if (!opts.keepOpen) req.end();
  });
  const out = withTimeout(p, ms, `${method} ${pathAndQuery}`).catch((e) => {
    req.destroy();
    throw e;
  });
  out.req = req;
  return out;
}

/** An Engine.IO session over HTTP long-polling, driven by hand. */
export class Polling {
  constructor(server, base = '/engine.io/') {
    this.server = server;
    this.base = base;
    this.sid = null;
    this.open = null;
  }

  url(extra) {
    return eioUrl(this.base, { transport: 'polling', sid: this.sid, extra });
  }

  /** GET without a sid: the open packet, parsed. Throws unless 200 `0{...}`. */
  async handshake() {
    const r = await httpRequest(this.server, eioUrl(this.base));
    if (r.status !== 200 || !r.text.startsWith('0')) {
      throw new Error(`handshake: ${r.status} ${JSON.stringify(r.text)}`);
    }
    this.handshakeResponse = r;
    this.open = JSON.parse(r.text.slice(1));
    this.sid = this.open.sid;
    return this.open;
  }

  /** GET (a poll); opts as httpRequest (ms: the deadline). */
  get(opts = {}) {
    return httpRequest(this.server, this.url(opts.extra), { ...opts, method: 'GET' });
  }

  /** POST a payload (string or Buffer). */
  post(body, opts = {}) {
    return httpRequest(this.server, this.url(opts.extra), {
      ...opts, method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...(opts.headers || {}) },
    });
  }

  /** POST that must be answered 200 `ok` */
  async send(body) {
    const r = await this.post(body);
    if (r.status !== 200 || r.text !== 'ok') throw new Error(`POST ${JSON.stringify(body).slice(0, 80)}: ${r.status} ${JSON.stringify(r.text)}`);
    return r;
  }

  /**
   * Poll until the packets satisfy pred (answering pings with a pong when
   * pong is true); resolves the packets gathered (pings excluded unless keepPings).
   */
  async collect(pred, { ms = T(3000), pong = true, keepPings = false } = {}) {
    const deadline = Date.now() + ms;
    const got = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`poll: timeout after ${ms} ms; got ${JSON.stringify(got)}`);
      const r = await this.get({ ms: left });
      if (r.status !== 200) throw new Error(`poll: ${r.status} ${JSON.stringify(r.text)}; got ${JSON.stringify(got)}`);
      const packets = r.text.split(SEP);
      for (const p of packets) {
        if (p === '2') {
          if (pong) await this.send('3');
          if (!keepPings) continue;
        }
        got.push(p);
      }
      if (pred(got)) return got;
    }
  }
}

/** `0{...}` of a handshake as an object (throws if it is not an open packet) */
export function parseOpen(text) {
  if (typeof text !== 'string' || text[0] !== '0') throw new Error(`not an open packet: ${JSON.stringify(text)}`);
  return JSON.parse(text.slice(1));
}

// WebSocket ----------------------------------------------------------------

const wsClients = new Set();

/**
 * A raw Engine.IO WebSocket: every frame kept as {text} or {binary} with its
 * arrival time. autoPong (default on) answers each `2` with `3` (the ping
 * frames are still recorded); packets() leaves them out.
 */
export class EioWs {
  constructor(ws, { autoPong = true, label = 'ws' } = {}) {
    this.ws = ws;
    this.label = label;
    this.autoPong = autoPong;
    this.frames = [];
    this.waiters = new Set();
    this.closeInfo = null;
    this.t0 = Date.now();
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), at: Date.now() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      const f = isBinary ? { binary: Buffer.from(data), at: Date.now() } : { text: data.toString('utf8'), at: Date.now() };
      this.frames.push(f);
      if (this.autoPong && f.text === '2' && ws.readyState === 1) ws.send('3');
      this.wake();
    });
    ws.on('error', (e) => { this.error = e; this.wake(); });
    wsClients.add(this);
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  describe(frames) {
    return frames.slice(-4).map((f) => (f.binary ? `<binary ${f.binary.toString('hex').slice(0, 40)}>` : JSON.stringify(f.text.length > 120 ? `${f.text.slice(0, 120)}...` : f.text))).join(' ');
  }

  send(data) {
    this.ws.send(data);
  }

  /** the frames that are not pings, from index `from` of all frames */
  packets(from = 0) {
    return this.frames.slice(from).filter((f) => f.text !== '2');
  }

  mark() {
    return this.frames.length;
  }

  /**
   * The first n frames (from index `from`) that match pred, pings skipped
   * unless withPings. Rejects on close or past the deadline.
   */
  waitFrames(n, { from = 0, pred = () => true, withPings = false, ms = T(3000), what = 'frames' } = {}) {
    return new Promise((resolve, reject) => {
      const pick = () => this.frames.slice(from).filter((f) => (withPings || f.text !== '2') && pred(f));
      const check = () => {
        const got = pick();
        if (got.length >= n) {
          done();
          resolve(got.slice(0, n));
        } else if (this.closeInfo) {
          done();
          reject(new Error(`${this.label}: closed (${this.closeInfo.code}) waiting for ${what}; got ${got.length}/${n}: ${this.describe(got)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: timeout after ${ms} ms waiting for ${what}; got: ${this.describe(pick())}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** the next frame (not a ping) after what has arrived so far */
  async next(what = 'next frame', ms = T(3000)) {
    const [f] = await this.waitFrames(1, { from: this.frames.length, what, ms });
    return f;
  }

  /** send, then the first frame (not a ping) after it */
  async ask(data, what = 'answer') {
    const from = this.frames.length;
    this.send(data);
    const [f] = await this.waitFrames(1, { from, what });
    return f;
  }

  /** resolves the close info; rejects if still open after ms */
  waitClose(ms = T(3000), what = 'close') {
    return withTimeout(this.closed, ms, `${this.label}: ${what}`);
  }

  /** true if the connection is still open after ms (it is not closed then) */
  async staysOpen(ms) {
    await Promise.race([this.closed, sleep(ms)]);
    return !this.closeInfo;
  }

  close() {
    try { this.ws.close(); } catch { /* closed */ }
  }

  terminate() {
    try { this.ws.terminate(); } catch { /* closed */ }
  }
}

/**
 * Open a raw WebSocket to `base` (e.g. '/engine.io/') with the given query (a
 * full query string, e.g. from eioUrl). Resolves {ws: EioWs} once open, or
 * {status} when the server refuses the upgrade with an HTTP answer, or
 * {closed} when the connection ends before opening. opts: autoPong, label.
 */
export function openWs(server, pathAndQuery, opts = {}) {
  const ws = new WebSocket(`${server.wsBase}${pathAndQuery}`, { perMessageDeflate: false, ...(opts.wsOptions || {}) });
  const c = new EioWs(ws, opts);
  return withTimeout(new Promise((resolve) => {
    ws.once('open', () => resolve({ ws: c }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      const done = () => { req.destroy(); resolve({ status: res.statusCode, headers: res.headers, body }); };
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
      res.on('close', done);
    });
    ws.once('error', (error) => resolve({ closed: true, error }));
  }), T(5000), `${c.label}: open ${pathAndQuery}`);
}

/**
 * A WebSocket-only Engine.IO session: opens it and waits for the open packet.
 * Resolves the EioWs with .open (the parsed open packet) and .openFrame.
 */
export async function eioWs(server, base = '/engine.io/', opts = {}) {
  const r = await openWs(server, eioUrl(base, { transport: 'websocket' }), opts);
  if (!r.ws) throw new Error(`WebSocket handshake refused: ${JSON.stringify(r)}`);
  const [f] = await r.ws.waitFrames(1, { what: 'open packet' });
  r.ws.openFrame = f;
  r.ws.open = parseOpen(f.text);
  return r.ws;
}

// Socket.IO over a raw WebSocket ----------------------------------------------

/** the Socket.IO namespace prefix as written on the wire: '' for '/', '/ns,' otherwise */
export const nspPrefix = (nsp) => (nsp === '/' ? '' : `${nsp},`);

/** `{"_placeholder":true,"num":i}` */
export const placeholder = (num) => ({ _placeholder: true, num });

/**
 * A WebSocket-only Socket.IO connection joined to `nsp` with `auth` (or none):
 * sends the CONNECT, waits for the CONNECT reply and the `auth` event the
 * conformance server emits on connection. Resolves the EioWs with .sioSid.
 * opts.connect: the exact CONNECT packet to send instead of the built one.
 */
export async function sioWs(server, { nsp = '/', auth, connect, label = 'sio' } = {}) {
  const c = await eioWs(server, '/socket.io/', { label });
  await sioJoin(c, { nsp, auth, connect });
  return c;
}

/** join another namespace on an open Socket.IO WebSocket; resolves the sid the server gave */
export async function sioJoin(c, { nsp = '/', auth, connect } = {}) {
  const from = c.mark();
  const pre = nspPrefix(nsp);
  c.send(connect ?? `40${pre}${auth === undefined ? '' : JSON.stringify(auth)}`);
  const [reply, authEvent] = await c.waitFrames(2, { from, what: `CONNECT reply and auth event on ${nsp}` });
  if (!reply.text?.startsWith(`40${pre}`)) throw new Error(`CONNECT ${nsp}: got ${c.describe([reply])}`);
  if (!authEvent.text?.startsWith(`42${pre}["auth",`)) throw new Error(`CONNECT ${nsp}: no auth event, got ${c.describe([authEvent])}`);
  const data = JSON.parse(reply.text.slice(2 + pre.length));
  c.sioSid = c.sioSid || {};
  c.sioSid[nsp] = data.sid;
  return { reply: reply.text, data, authEvent: authEvent.text };
}

// socket.io-client ---------------------------------------------------------

const sioClients = new Set();
const managers = new Set();

/** a socket.io-client Manager (reconnection off) whose sockets share one connection */
export function ioManager(server, opts = {}) {
  const m = new IoManager(server.base, { reconnection: false, timeout: T(5000), ...opts });
  managers.add(m);
  return m;
}

/** resolves once a socket.io-client socket is connected; rejects with its connect_error */
export function ioConnected(socket, what = 'socket.io-client connect') {
  sioClients.add(socket);
  if (socket.connected) return Promise.resolve(socket);
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  }), T(6000), what);
}

/**
 * socket.io-client with reconnection off, forceNew; opts go to io().
 * Resolves the connected socket; rejects with the connect_error.
 */
export async function ioConnect(server, nsp = '/', opts = {}) {
  const socket = ioClient(`${server.base}${nsp}`, { reconnection: false, forceNew: true, timeout: T(5000), ...opts });
  return ioConnected(socket, `socket.io-client connect ${nsp}`);
}

/** the next `event` on a socket.io-client socket: resolves its arguments */
export function ioNext(socket, event, ms = T(3000)) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), ms, `socket.io-client event ${event}`);
}

/**
 * Decode one Socket.IO packet as text (without the Engine.IO `4`), for
 * assertions that compare meaning rather than bytes: {type, attachments, nsp,
 * id, data}. Throws on anything it does not understand (it is a test helper,
 * strict on purpose).
 */
export function decodeSio(text) {
  const m = /^([0-6])(?:(\d+)-)?(\/[^,]*(?:,|$))?(\d+)?([\s\S]*)$/.exec(text);
  if (!m) throw new Error(`not a Socket.IO packet: ${JSON.stringify(text)}`);
  const nsp = m[3] ? m[3].replace(/,$/, '') : '/';
  return {
    type: Number(m[1]),
    attachments: m[2] === undefined ? 0 : Number(m[2]),
    nsp,
    id: m[4] === undefined ? undefined : Number(m[4]),
    data: m[5] === '' ? undefined : JSON.parse(m[5]),
  };
}

/** replace each {_placeholder:true,num:i} in data by bins[i] (a deep copy) */
export function fillPlaceholders(data, bins) {
  if (Array.isArray(data)) return data.map((v) => fillPlaceholders(v, bins));
  if (data && typeof data === 'object') {
    if (data._placeholder === true && Number.isInteger(data.num)) {
      if (data.num < 0 || data.num >= bins.length) throw new Error(`placeholder ${data.num} of ${bins.length}`);
      return bins[data.num];
    }
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, fillPlaceholders(v, bins)]));
  }
  return data;
}
