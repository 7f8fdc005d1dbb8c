// harness.mjs: the real switchboard binary, real clients (ws), bounded waits.
//
// Environment:
//   SWITCHBOARD_BIN        the binary (default: build/switchboard of this tree)
//   SB_TEST_TIMEOUT_SCALE  multiply every timeout (ASan builds: 4 or more)
//   SB_TEST_SANITIZED      1 when the binary is built with ASan (RSS bounds relax,
//                          the quarantine is kept small)
//   SB_TEST_KEEP           1 keeps the temp dirs (and prints where they are)
//   SB_TEST_DB             postgres: every server gets a fresh PostgreSQL database
//                          (CREATE DATABASE in the cluster of tests/support/pg_cluster.sh)
//                          instead of an SQLite file; default sqlite
//   SB_TEST_PG_URL         the cluster's URL base (postgres://sb@127.0.0.1:PORT/), or
//   SB_TEST_PG_URL_FILE    a file holding it (default build/pg/url: ctest's pg_cluster)
//
// Every server started here is killed in cleanup() (call it from after()) and,
// as a last resort, when the test process exits. Every wait has a deadline.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const WebSocket = require('ws');

export const ROOT = path.resolve(here, '..', '..');
export const BIN = process.env.SWITCHBOARD_BIN || path.join(ROOT, 'build', 'switchboard');
export const SCALE = Math.max(1, Number(process.env.SB_TEST_TIMEOUT_SCALE || 1));
export const SANITIZED = process.env.SB_TEST_SANITIZED === '1';
const KEEP = process.env.SB_TEST_KEEP === '1';
/** the engine the servers run on: 'sqlite' or 'postgres' (SB_TEST_DB) */
export const engine = process.env.SB_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/** Skip a test that checks something only SQLite has (the file, WAL, --sync,
 * --max-db-size), visibly: call first thing in the test. true when skipped. */
export function sqliteOnly(t, what = 'SQLite specifics') {
  if (engine === 'sqlite') return false;
  t.skip(`SQLite only: ${what}`);
  return true;
}

/** A timeout in ms, scaled for slow (sanitizer) builds. */
export const T = (ms) => Math.round(ms * SCALE);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const servers = new Set();
const dirs = new Set();
const clients = new Set();
const databases = new Set(); // PostgreSQL databases made here, dropped by cleanup()

// PostgreSQL -----------------------------------------------------------------

let pgBase;
/** The cluster's URL base, postgres://sb@127.0.0.1:PORT/ (ends with /). */
export function pgUrlBase() {
  if (pgBase) return pgBase;
  let u = process.env.SB_TEST_PG_URL;
  if (!u) {
    const file = process.env.SB_TEST_PG_URL_FILE || path.join(ROOT, 'build', 'pg', 'url');
    try {
      u = fs.readFileSync(file, 'utf8').trim();
    } catch {
      throw new Error(`SB_TEST_DB=postgres: no cluster URL (SB_TEST_PG_URL, or ${file}: start one with tests/support/pg_cluster.sh start DIR)`);
    }
  }
  pgBase = u.endsWith('/') ? u : `${u}/`;
  return pgBase;
}

function psql(url, sql) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
    encoding: 'utf8', timeout: T(20000), stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh, empty database in the cluster: its URL. */
export function createPgDatabase(tag = 'sb') {
  const name = `sb_${tag.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  psql(`${pgUrlBase()}postgres`, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  databases.add(name);
  return `${pgUrlBase()}${name}`;
}

function dropPgDatabases() {
  for (const name of databases) {
    try {
      psql(`${pgUrlBase()}postgres`, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch { /* the cluster went first: it takes them with it */ }
  }
  databases.clear();
}

/** The database of a server dir (made on first use, the same on a restart). */
export function dbFor(dir, tag) {
  if (engine === 'sqlite') return path.join(dir, 'chat.db');
  const file = path.join(dir, 'pg-url.txt');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const url = createPgDatabase(tag);
  fs.writeFileSync(file, url);
  return url;
}

/** The --db arguments for a server on `db` (a URL also needs --data-dir). */
export function dbArgs(db, dir) {
  return db.startsWith('postgres') ? ['--db', db, '--data-dir', dir] : ['--db', db];
}

/**
 * Run SQL on a server's database (s, or its db: a file or a URL), whichever the
 * engine: the rows as text, tab-separated, one line each (as sqlite() gives).
 */
export function dbQuery(target, sql) {
  const db = typeof target === 'string' ? target : target.db;
  if (db.startsWith('postgres')) return psql(db, sql);
  return sqlite(db, sql);
}

function killAllSync() {
  for (const s of servers) {
    if (s.exitCode === undefined) {
      try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  if (!KEEP) for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAllSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

/** Close every client, kill every server still running, remove temp dirs. */
export async function cleanup() {
  for (const c of clients) c.terminate();
  clients.clear();
  for (const s of servers) {
    if (s.exitCode === undefined) {
      try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
      await withTimeout(s.exited, T(5000), 'server exit after SIGKILL').catch(() => {});
    }
  }
  servers.clear();
  if (!KEEP) dropPgDatabases();
  if (KEEP) {
    for (const d of dirs) console.error(`kept ${d}`);
  } else {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  dirs.clear();
}

export function tempDir(tag = 'sb') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `sb-it-${tag}-`));
  dirs.add(d);
  return d;
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Poll fn() until it returns a truthy value. */
export async function until(fn, ms, what, every = 20) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timeout after ${ms} ms: ${what}`);
    await sleep(every);
  }
}

// Servers ------------------------------------------------------------------

/**
 * Start `switchboard serve --port 0 --db DIR/chat.db ARGS...`; resolves once the
 * listen line is logged. opts: dir (reuse a DB), args, demo (default true).
 */
/**
 * Spawn a server program with the test environment (no SB_* settings from
 * outside, a small ASan quarantine), collect its output, and wait until
 * `listen` (a regex whose first group is the port) appears on `stream`.
 * The result: {proc, pid, stdout, stderr, exitCode, exitSignal, exited, port,
 * stop(signal, ms)}; cleanup() kills what is left.
 */
export async function spawnServer(bin, args, { listen, stream = 'stderr', what = 'server' } = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SB_') && !k.startsWith('SB_TEST')) delete env[k];
  if (SANITIZED) {
    // a small quarantine keeps RSS meaningful; leaks are still reported at exit
    env.ASAN_OPTIONS = [env.ASAN_OPTIONS, 'quarantine_size_mb=8'].filter(Boolean).join(':');
  }
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { proc, pid: proc.pid, port: 0, stdout: '', stderr: '', exitCode: undefined, exitSignal: undefined };
  s.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      s.exitCode = code;
      s.exitSignal = signal;
      resolve({ code, signal });
    });
  });
  servers.add(s);
  proc.stdout.on('data', (d) => { s.stdout += d; });
  proc.stderr.on('data', (d) => { s.stderr += d; });
  const m = await withTimeout(
    (async () => {
      for (;;) {
        const mm = listen.exec(s[stream]);
        if (mm) return mm;
        if (s.exitCode !== undefined) throw new Error(`${what} exited (${s.exitCode}/${s.exitSignal}):\n${s.stderr}`);
        await sleep(10);
      }
    })(),
    T(10000),
    `${what}: listen line`,
  );
  s.port = Number(m[1]);
  /** signal the process, resolve with {code, signal} (rejects past the timeout) */
  s.stop = async (signal = 'SIGTERM', ms = T(8000)) => {
    if (s.exitCode === undefined) {
      try { process.kill(s.pid, signal); } catch { /* gone */ }
    }
    return withTimeout(s.exited, ms, `${what} exit after ${signal}`);
  };
  return s;
}

export async function startServer(opts = {}) {
  const dir = opts.dir || tempDir(opts.tag);
  const db = dbFor(dir, opts.tag);
  const args = ['serve', '--port', '0', ...dbArgs(db, dir)];
  if (opts.demo === false) args.push('--no-demo');
  // floods that test something else (queues, replays, crashes) are not
  // stopped by the per-connection rate limits
  if (opts.unlimited) args.push('--max-message-rate', '0', '--max-byte-rate', '0');
  args.push(...(opts.args || []));
  // opts.nofile: run under a lowered RLIMIT_NOFILE (prlimit execs: same PID)
  const cmd = opts.nofile ? ['prlimit', [`--nofile=${opts.nofile}:${opts.nofile}`, BIN, ...args]] : [BIN, args];
  const s = await spawnServer(cmd[0], cmd[1], { listen: /event=listen bind=\S+ port=(\d+)/, stream: 'stderr', what: 'server' });
  Object.assign(s, { dir, db });
  s.base = `http://127.0.0.1:${s.port}`;
  s.wsUrl = (query = '') => `ws://127.0.0.1:${s.port}/ws/chat${query ? `?${query}` : ''}`;
  s.rssKb = () => {
    const st = fs.readFileSync(`/proc/${s.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(st)[1]);
  };
  s.users = opts.demo === false ? {} : demoUsers(dir);
  return s;
}

/** demo-tokens.txt beside the DB: {alice: {id, role, name, token}, bob: ...}. */
export function demoUsers(dir) {
  const file = path.join(dir, 'demo-tokens.txt');
  const users = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [id, role, name, token] = line.split('\t');
    users[name.split(' ')[0].toLowerCase()] = { id, role, name, token };
  }
  return users;
}

/** `switchboard user add`: {id, token, name, role, avatar}. */
export function addUser(db, name, role = 'TECHNICIAN', avatar) {
  const args = ['user', 'add', '--name', name, '--role', role, '--db', db];
  if (avatar) args.push('--avatar', avatar);
  const out = execFileSync(BIN, args, { encoding: 'utf8', timeout: T(10000) }).trim();
  const [id, token] = out.split('\t');
  return { id, token, name, role, avatar: avatar ?? null };
}

export function sqlite(db, sql) {
  // a PostgreSQL URL (SB_TEST_DB=postgres): the same text from psql, for the
  // queries both engines understand (SQLite specifics: h.sqliteOnly)
  if (String(db).startsWith('postgres')) return psql(db, sql);
  return execFileSync('sqlite3', ['-bail', '-separator', '\t', db, sql], { encoding: 'utf8', timeout: T(10000) });
}

// HTTP ----------------------------------------------------------------------

/** One request; resolves {status, headers, text, json}. */
export function request(server, pathAndQuery, { method = 'GET', headers = {}, body } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: server.port, path: pathAndQuery, method, headers, agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    // one end(body): node sends a Content-Length (write() then end() would be
    // chunked, which the server refuses: docs/operations.md)
    req.end(body);
  }), T(5000), `${method} ${pathAndQuery}`);
}

/** the sanitizers' reports in a server's output (ASan/UBSan builds) */
export function sanitizerReports(server) {
  return (server.stderr.match(/^.*(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:).*$/gm) || []);
}

export const bearer = (token) => ({ Authorization: `Bearer ${token}` });

/** GET /metrics parsed: {'name{labels}': number}. */
export async function metrics(server) {
  const r = await request(server, '/metrics');
  const out = {};
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

// WebSocket clients ---------------------------------------------------------

export class Client {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.messages = []; // parsed JSON objects, in arrival order
    this.raw = []; // the frames as text, byte-exact
    this.waiters = new Set();
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      this.raw.push(text);
      let msg;
      try { msg = JSON.parse(text); } catch { msg = { unparsable: text, isBinary }; }
      this.messages.push(msg);
      this.wake();
    });
    ws.on('error', (e) => { this.error = e; this.wake(); });
    clients.add(this);
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  lastFew() {
    return this.raw.slice(-3).map((r) => (r.length > 200 ? `${r.slice(0, 200)}...(${r.length} bytes)` : r)).join(' | ');
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** the first message (from index `from`) matching pred; waits up to ms. */
  waitFor(pred, { from = 0, ms = T(3000), what = 'message' } = {}) {
    return this.waitForN(pred, 1, { from, ms, what }).then((a) => a[0]);
  }

  /** n messages matching pred (from index `from`); waits up to ms. */
  waitForN(pred, n, { from = 0, ms = T(3000), what = 'messages' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.slice(from).filter(pred);
        if (found.length >= n) {
          done();
          resolve(found.slice(0, n));
        } else if (this.closeInfo) {
          done();
          reject(new Error(`${this.label}: closed (${this.closeInfo.code} ${this.closeInfo.reason}) waiting for ${what}; got ${found.length}/${n}; last: ${this.lastFew()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        const found = this.messages.slice(from).filter(pred);
        reject(new Error(`${this.label}: timeout after ${ms} ms waiting for ${what}; got ${found.length}/${n}; last: ${this.lastFew()}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** the next message after what has arrived so far */
  next(what = 'next message', ms = T(3000)) {
    return this.waitFor(() => true, { from: this.messages.length, ms, what });
  }

  /** send an action and wait for the first message after it matching pred */
  async ask(obj, pred = () => true, what = JSON.stringify(obj)) {
    const from = this.messages.length;
    this.send(obj);
    return this.waitFor(pred, { from, what });
  }

  waitClose(ms = T(5000)) {
    return withTimeout(this.closed, ms, `${this.label}: close`);
  }

  count(pred) {
    return this.messages.filter(pred).length;
  }

  mark() {
    return this.messages.length;
  }

  close() {
    this.ws.close();
  }

  terminate() {
    try { this.ws.terminate(); } catch { /* closed */ }
  }
}

/**
 * Open a WebSocket: opts.token (sent as ?token= unless opts.bearer), opts.query
 * (extra query string), opts.headers, opts.wsOptions. Resolves once open.
 */
export async function connect(server, opts = {}) {
  const q = [];
  if (opts.token !== undefined && !opts.bearer) q.push(`token=${encodeURIComponent(opts.token)}`);
  if (opts.query) q.push(opts.query);
  const headers = { ...(opts.headers || {}) };
  if (opts.bearer && opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  const ws = new WebSocket(opts.url || server.wsUrl(q.join('&')), { headers, ...(opts.wsOptions || {}) });
  const c = new Client(ws, opts.label || 'client');
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), T(5000), `${c.label}: open`);
  return c;
}

/** A WebSocket ping from client c: the milliseconds until its pong. */
export async function pingMs(c) {
  const sent = Date.now();
  const ponged = new Promise((resolve) => c.ws.once('pong', () => resolve(Date.now())));
  c.ws.ping();
  return (await ponged) - sent;
}

/** connect as a user and prove the socket is authenticated (heartbeat round trip) */
export async function login(server, user, label, opts = {}) {
  const c = await connect(server, { token: user.token, label: label || user.name, ...opts });
  await c.ask({ action: 'heartbeat' }, (m) => m.type === 'heartbeat_response', 'login heartbeat');
  return c;
}

// Expected wire forms ------------------------------------------------------

/** Both forms of the error the server sends (docs/decisions.md: send both, accept either). */
export const errorFrame = (text) => JSON.stringify({ type: 'error', error: text, data: { error: text } });

export const senderOf = (u) => ({ id: u.id, full_name: u.name, avatar: u.avatar ?? null, role: u.role });

export const isType = (type) => (m) => m.type === type;
export const isNewMessage = (pred = () => true) => (m) => m.type === 'new_message' && pred(m.data.message, m.data);
