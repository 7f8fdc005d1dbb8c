// rt.mjs: the realtime protocol's test helpers over tests/integration/harness.mjs:
// a server with a known JWT secret, tokens (jsonwebtoken, independent of our minting),
// real socket.io-client connections, envelopes, the operator API.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from '../integration/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const { io } = require('socket.io-client');
export const jwt = require('jsonwebtoken');
export { h };

export const SECRET = 'test-secret-0123456789abcdef-0123456789abcdef';

/** A server for /realtime: --jwt-secret SECRET, no demo, plus args. */
export async function startRealtime(args = [], opts = {}) {
  const s = await h.startServer({ demo: false, args: ['--jwt-secret', SECRET, ...args], ...opts });
  s.key = opts.noKey ? null : apiKey(s.db);
  return s;
}

/** `switchboard apikey add`: the key. */
export function apiKey(db, name = `k${Math.random().toString(36).slice(2, 8)}`) {
  const out = execFileSync(h.BIN, ['apikey', 'add', '--name', name, '--db', db], { encoding: 'utf8', timeout: h.T(10000) });
  return /sbk_[0-9a-f]{64}/.exec(out)[0];
}

/** An HS256 token with the usual claims (override any; null drops one). */
export function token(claims = {}, { secret = SECRET, ttl = 600, ...opts } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = { sub: 'u1', company_id: 'c1', sid: 's1', exp: now + ttl, ...claims };
  for (const k of Object.keys(c)) if (c[k] === null) delete c[k];
  return jwt.sign(c, secret, { algorithm: 'HS256', noTimestamp: true, ...opts });
}

const sockets = new Set();
export function closeAll() {
  for (const s of sockets) s.close();
  sockets.clear();
}

/** A socket.io-client socket, not yet connected (autoConnect on). */
export function socket(server, { tok = token(), sessionId = 's1', artifactId, transports, ...opts } = {}) {
  const query = { sessionId };
  if (artifactId !== undefined) query.artifactId = artifactId;
  if (sessionId === null) delete query.sessionId;
  const s = io(server.base, {
    path: '/realtime', auth: { token: tok }, query, transports, reconnection: false,
    forceNew: true, ...opts,
  });
  s.messages = [];
  s.on('message', (m, offset) => {
    const env = typeof m === 'string' ? JSON.parse(m) : m;
    s.messages.push({ env, offset, raw: m });
  });
  sockets.add(s);
  return s;
}

/** Connected, or rejects with the connect_error's message. */
export function connected(s, ms = 10000) {
  return h.withTimeout(new Promise((resolve, reject) => {
    if (s.connected) return resolve(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  }), h.T(ms), 'socket.io connect');
}

/** The connect_error's message (fails if it connects). */
export async function refused(s, ms = 10000) {
  try {
    await connected(s, ms);
  } catch (e) {
    return e.message;
  }
  throw new Error('connected, expected a connect_error');
}

export async function connect(server, opts = {}) {
  return connected(socket(server, opts));
}

let nextId = 0;
export const rid = () => `r${++nextId}`;

/** Send a REQUEST (a JSON string, as the seed's client does). */
export function request(s, action, data, requestId = rid()) {
  const env = { type: 'REQUEST', requestId, action };
  if (data !== undefined) env.data = data;
  s.emit('message', JSON.stringify(env));
  return requestId;
}

/** The answer (RESPONSE or ERROR) to requestId. */
export async function answer(s, requestId, ms = 10000) {
  await h.until(() => s.messages.some((m) => m.env.requestId === requestId && m.env.type !== 'UPDATE'),
    h.T(ms), `answer to ${requestId}`);
  return s.messages.find((m) => m.env.requestId === requestId && m.env.type !== 'UPDATE').env;
}

export async function ask(s, action, data) {
  return answer(s, request(s, action, data));
}

/** POST /api/v1/realtime/updates; resolves {status, json, text}. */
export function update(server, body, key = server.key) {
  return h.request(server, '/api/v1/realtime/updates', {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export const updatesOf = (s) => s.messages.filter((m) => m.env.type === 'UPDATE');
