// realtime_harness.mjs: the realtime service of seed 002 (Socket.IO at /realtime,
// JWT on CONNECT, the operator updates API) driven by the real socket.io-client
// 4.8.4, on top of the integration harness (../integration/harness.mjs: servers,
// temp dirs, T(), cleanup, HTTP requests, /metrics).
//
// Every socket made here is tracked and closed by cleanup(); every wait has a
// deadline. Messages are read exactly as the seed's client reads them:
//   const parsed = typeof message === 'string' ? JSON.parse(message) : message;
import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from '../integration/harness.mjs';

export { h };
export const { T, sleep, withTimeout, until, BIN, request, metrics, tempDir } = h;

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
/** socket.io-client 4.8.4 and jsonwebtoken 9 from tests/node */
export const io = require('socket.io-client').io;
export const jwt = require('jsonwebtoken');

/** An HS256 secret of 32 bytes or more (the server refuses shorter ones). */
export const SECRET = 'realtime-test-secret-0123456789abcdef';

// Servers ------------------------------------------------------------------

/**
 * `switchboard serve --port 0 --db DIR/chat.db --no-demo --jwt-secret SECRET ARGS...`.
 * opts.args: more flags; opts.jwt: the JWT flags instead of --jwt-secret SECRET
 * (an array, [] for none); opts.dir: reuse a database. The result is the
 * harness' server plus .apiKey() (an operator key, made once with `apikey add`).
 */
export async function startRt(opts = {}) {
  const jwtArgs = opts.jwt ?? ['--jwt-secret', SECRET];
  const s = await h.startServer({ demo: false, tag: 'rt', dir: opts.dir, args: [...jwtArgs, ...(opts.args || [])] });
  let key;
  s.apiKey = () => {
    if (!key) key = addApiKey(s.db, `key-${crypto.randomBytes(4).toString('hex')}`);
    return key;
  };
  return s;
}

/** `switchboard apikey add --name N --db DB`: the key (the third field of ID NAME KEY). */
export function addApiKey(db, name) {
  const out = execFileSync(BIN, ['apikey', 'add', '--name', name, '--db', db], { encoding: 'utf8', timeout: T(10000) }).trim();
  const key = out.split('\t')[2];
  if (!/^sbk_[0-9a-f]+$/.test(key || '')) throw new Error(`apikey add printed ${JSON.stringify(out)}`);
  return key;
}

/**
 * Run the binary with the test environment (no SB_* settings from outside, as
 * the harness' servers) plus `env`; resolves {code, stdout, stderr} (never
 * rejects on a non-zero exit).
 */
export function runBin(args, { ms = T(15000), env = {} } = {}) {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('SB_') && !k.startsWith('SB_TEST')) delete e[k];
  return new Promise((resolve) => {
    execFile(BIN, args, { encoding: 'utf8', timeout: ms, env: { ...e, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, signal: err?.signal });
    });
  });
}

// Tokens -------------------------------------------------------------------

const b64u = (buf) => Buffer.from(buf).toString('base64url');
export const nowS = () => Math.floor(Date.now() / 1000);

/** Default claims: user u1 of company c1 in session s1, valid 10 minutes. */
export function claims(over = {}) {
  return { sub: 'u1', company_id: 'c1', sid: 's1', exp: nowS() + 600, ...over };
}

/** An HS256 token (jsonwebtoken) with claims(over); secret defaults to SECRET. */
export function mint(over = {}, secret = SECRET) {
  return jwt.sign(claims(over), secret, { algorithm: 'HS256', noTimestamp: true });
}

/**
 * A token built by hand: any header, any payload (objects or raw JSON text),
 * signed with HMAC-SHA256 under `secret`, or with `sig` (a string) as is.
 */
export function rawToken(header, payload, { secret = SECRET, sig } = {}) {
  const hp = `${b64u(typeof header === 'string' ? header : JSON.stringify(header))}.${b64u(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const s = sig ?? b64u(crypto.createHmac('sha256', secret).update(hp).digest());
  return `${hp}.${s}`;
}

// Socket.IO clients ----------------------------------------------------------

const sockets = new Set();

/** Close every socket made here, then the harness' cleanup (servers, dirs). */
export async function cleanup() {
  for (const c of sockets) {
    try { c.socket.disconnect(); } catch { /* gone */ }
    try { c.socket.io.engine?.close(); } catch { /* gone */ }
  }
  sockets.clear();
  await h.cleanup();
}

/**
 * A socket.io-client socket to /realtime, recording every "message" the way the
 * seed's client reads it. msgs: [{env, raw, offset, nargs, at}] in arrival order.
 */
export class RtClient {
  constructor(server, opts = {}) {
    const query = { sessionId: opts.sessionId ?? 's1' };
    if (opts.sessionId === null) delete query.sessionId;
    if (opts.artifactId !== undefined) query.artifactId = opts.artifactId;
    this.label = opts.label || 'client';
    this.msgs = [];
    this.disconnects = [];
    this.connectErrors = [];
    this.connects = 0;
    this.waiters = new Set();
    this.seq = 0;
    this.socket = io(server.base, {
      path: '/realtime',
      auth: { token: opts.token ?? mint(), ...(opts.auth || {}) },
      query,
      forceNew: true,
      reconnection: opts.reconnection ?? false,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      timeout: T(5000),
      ...(opts.transports ? { transports: opts.transports } : {}),
      ...(opts.io || {}),
    });
    sockets.add(this);
    // the transports the Engine.IO connection went through: [at open, upgrades...]
    this.transports = [];
    this.socket.io.on('open', () => {
      const engine = this.socket.io.engine;
      this.transports.push(engine.transport.name);
      engine.on('upgrade', (t) => { this.transports.push(t.name); this.wake(); });
    });
    this.socket.on('message', (message, ...rest) => {
      // the seed's own client code
      const parsed = typeof message === 'string' ? JSON.parse(message) : message;
      this.msgs.push({ env: parsed, raw: message, offset: rest[0], nargs: 1 + rest.length, at: Date.now() });
      this.wake();
    });
    this.socket.on('connect', () => { this.connects++; this.wake(); });
    this.socket.on('disconnect', (reason) => { this.disconnects.push(reason); this.wake(); });
    this.socket.on('connect_error', (e) => { this.connectErrors.push(e); this.wake(); });
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  /** resolves once connected; rejects with the connect_error */
  connected(ms = T(6000)) {
    if (this.socket.connected) return Promise.resolve(this);
    return withTimeout(new Promise((resolve, reject) => {
      const ok = () => { this.socket.off('connect_error', ko); resolve(this); };
      const ko = (e) => { this.socket.off('connect', ok); reject(e); };
      this.socket.once('connect', ok);
      this.socket.once('connect_error', ko);
    }), ms, `${this.label}: connect`);
  }

  /** resolves when pred(this) holds, checked on every event; rejects past ms */
  until(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = pred(this); } catch (e) { done(); reject(e); return; }
        if (v) { done(); resolve(v); }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: timeout after ${ms} ms waiting for ${what}; last: ${this.lastFew()}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  lastFew() {
    return this.msgs.slice(-3).map((m) => (typeof m.raw === 'string' ? m.raw.slice(0, 200) : JSON.stringify(m.raw))).join(' | ')
      + (this.disconnects.length ? ` [disconnects: ${this.disconnects.join(', ')}]` : '');
  }

  /** the envelopes (parsed) matching pred, from index `from` */
  envs(pred = () => true, from = 0) {
    return this.msgs.slice(from).map((m) => m.env).filter(pred);
  }

  /** the UPDATE messages ({env, offset, ...}) */
  updates() {
    return this.msgs.filter((m) => m.env && m.env.type === 'UPDATE');
  }

  /** n messages (records) matching pred from index `from` */
  waitMsgs(pred, n = 1, { from = 0, ms = T(3000), what = 'messages' } = {}) {
    return this.until((c) => {
      const got = c.msgs.slice(from).filter(pred);
      return got.length >= n ? got.slice(0, n) : null;
    }, ms, `${what} (${n})`);
  }

  /** the answer (RESPONSE or ERROR envelope) to requestId */
  answer(requestId, ms = T(3000)) {
    return this.waitMsgs((m) => m.env && (m.env.type === 'RESPONSE' || m.env.type === 'ERROR') && m.env.requestId === requestId, 1,
      { ms, what: `answer to ${requestId}` }).then((a) => a[0].env);
  }

  /** emit a REQUEST (as a JSON string, the seed's way) */
  send(action, data, requestId = `${this.label}-${++this.seq}`) {
    const env = { type: 'REQUEST', requestId, action };
    if (data !== undefined) env.data = data;
    this.socket.emit('message', JSON.stringify(env));
    return requestId;
  }

  /** send a REQUEST and wait for its answer envelope */
  async ask(action, data, requestId) {
    const id = this.send(action, data, requestId);
    return this.answer(id);
  }

  /** the reason of the k-th disconnect (1-based) of this client, once it has happened */
  disconnectNo(k = 1, ms = T(5000)) {
    return this.until((c) => c.disconnects.length >= k && c.disconnects[k - 1], ms, `disconnect #${k}`);
  }

  close() {
    this.socket.disconnect();
    sockets.delete(this);
  }
}

/** A connected RtClient (rejects with the connect_error). */
export async function connect(server, opts = {}) {
  const c = new RtClient(server, opts);
  try {
    return await c.connected();
  } catch (e) {
    c.close();
    throw e;
  }
}

/**
 * The connect_error message of a connection the server must refuse (rejects if
 * it connects instead).
 */
export async function refusal(server, opts = {}) {
  const c = new RtClient(server, opts);
  try {
    await c.connected();
  } catch (e) {
    c.close();
    return e.message;
  }
  c.close();
  throw new Error(`${opts.label || 'client'}: connected, expected a refusal`);
}

/**
 * Cut the client's TCP connection under it, as a network loss does (no close
 * frame, no Socket.IO DISCONNECT): the client sees "transport close" and, with
 * reconnection on, reconnects by itself.
 */
export function dropTransport(c) {
  const t = c.socket.io.engine.transport;
  if (t.name !== 'websocket') throw new Error(`dropTransport: transport is ${t.name}, expected websocket`);
  t.ws._socket.destroy();
}

// Operator API -----------------------------------------------------------------

/** POST /api/v1/realtime/updates with the server's key (or opts.key); {status, headers, text, json}. */
export function postUpdate(server, body, { key } = {}) {
  const k = key === undefined ? server.apiKey() : key;
  const headers = { 'Content-Type': 'application/json' };
  if (k !== null) headers.Authorization = `Bearer ${k}`;
  return request(server, '/api/v1/realtime/updates', {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

// A stand-in upstream for proxied actions -----------------------------------------

/**
 * A local HTTP server on a random port. handler(req, body, res) answers; every
 * request is recorded in .calls ({method, url, headers, body, json}).
 * close() ends it (and its open connections).
 */
export async function startUpstream(handler) {
  const up = { calls: [] };
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let json;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      const call = { method: req.method, url: req.url, headers: req.headers, body, json };
      up.calls.push(call);
      handler(call, res);
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  up.port = srv.address().port;
  up.url = `http://127.0.0.1:${up.port}`;
  up.close = () => new Promise((resolve) => { srv.closeAllConnections?.(); srv.close(() => resolve()); });
  return up;
}

/** A port nothing listens on (bound then closed). */
export async function closedPort() {
  const srv = http.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Write text to a file in a fresh temp dir; its path. */
export function tempFile(name, text) {
  const d = tempDir('rtkey');
  const p = path.join(d, name);
  fs.writeFileSync(p, text);
  return p;
}
