// rt_harness.mjs: tests/runtime/rt_testserver (the runtime without the chat)
// and clients for its test protocol. Timeouts, temp dirs and HTTP requests come
// from the integration harness.
//
// Environment: RT_TESTSERVER_BIN (default build/tests/rt_testserver of this
// tree), and SB_TEST_TIMEOUT_SCALE / SB_TEST_SANITIZED / SB_TEST_KEEP as there.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import * as h from '../integration/harness.mjs';

export { h };
export const BIN = process.env.RT_TESTSERVER_BIN || path.join(h.ROOT, 'build', 'tests', 'rt_testserver');
export const T = h.T;
export const sleep = h.sleep;

const servers = new Set();
const sockets = new Set();

process.on('exit', () => {
  for (const s of servers) if (s.exitCode === undefined) try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** Run the binary to its end (for refusals at start-up): {code, signal, stdout, stderr}. */
export function runToEnd(args, ms = T(10000)) {
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  return h.withTimeout(new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  }), ms, `${BIN} ${args.join(' ')}`);
}

/**
 * Start rt_testserver --port 0 --db DIR/t.db (or DIR's PostgreSQL database) ARGS;
 * resolves once it printed port=N. A `dir` of another server: a second node on its database.
 */
export async function startRt(args = [], tag = 'rt', dir = h.tempDir(tag)) {
  // SQLite: DIR/t.db; SB_TEST_DB=postgres: a fresh database (harness.mjs)
  const db = h.engine === 'sqlite' ? path.join(dir, 't.db') : h.dbFor(dir, tag);
  const s = await h.spawnServer(BIN, ['--port', '0', ...h.dbArgs(db, dir), '--log-level', 'warn', ...args],
    { listen: /port=(\d+)/, stream: 'stdout', what: 'rt_testserver' });
  Object.assign(s, { dir, db });
  servers.add(s);
  s.wsUrl = (query = '') => `ws://127.0.0.1:${s.port}/ws/t${query ? `?${query}` : ''}`;
  s.get = (p, opts) => h.request(s, p, opts);
  /** a body with its Content-Length (node sends chunked without one, which the server refuses) */
  s.send = (p, method, body, type = 'application/json', headers = {}) => h.request(s, p, {
    method, body, headers: { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers },
  });
  s.stats = async () => (await h.request(s, '/t/stats')).json;
  return s;
}

/** Stop every server with SIGTERM (a clean exit is part of every test file), then the harness' cleanup. */
export async function cleanup() {
  for (const c of sockets) c.destroy();
  sockets.clear();
  for (const s of servers) {
    if (s.exitCode === undefined) {
      const r = await s.stop().catch(() => null);
      if (!r || r.code !== 0) {
        try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
        throw new Error(`rt_testserver did not stop cleanly (${JSON.stringify(r)}):\n${s.stderr.slice(-3000)}`);
      }
    }
  }
  servers.clear();
  await h.cleanup();
}

/** A client of /ws/t: frames as {text, binary, data, at}, in arrival order. */
export class RtClient {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.frames = [];
    this.waiters = new Set();
    this.closeInfo = null;
    this.onFrame = null; // called synchronously on arrival (outbox ordering)
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('message', (data, binary) => {
      const f = { text: binary ? null : data.toString('utf8'), binary, data: Buffer.from(data), at: Date.now() };
      this.frames.push(f);
      if (this.onFrame) this.onFrame(f);
      this.wake();
    });
    ws.on('error', (e) => { this.error = e; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  texts(from = 0) { return this.frames.slice(from).filter((f) => !f.binary).map((f) => f.text); }

  mark() { return this.frames.length; }

  send(data, opts) { this.ws.send(data, opts); }

  /** the first frame from index `from` matching pred (a function, string or RegExp) */
  waitFor(pred, { from = 0, ms = T(3000) } = {}) {
    const test = typeof pred === 'function' ? pred
      : pred instanceof RegExp ? (f) => !f.binary && pred.test(f.text)
        : (f) => !f.binary && f.text === pred;
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.slice(from).find(test);
        if (f) { done(); resolve(f); } else if (this.closeInfo) {
          done();
          reject(new Error(`${this.label}: closed (${this.closeInfo.code}) waiting for ${pred}; got ${JSON.stringify(this.texts().slice(-5))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: timeout after ${ms} ms waiting for ${pred}; got ${JSON.stringify(this.texts().slice(-5))}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** send a text command, wait for the reply matching pred */
  async ask(text, pred) {
    const from = this.mark();
    this.send(text);
    return this.waitFor(pred, { from });
  }

  close() { this.ws.close(); }

  terminate() { try { this.ws.terminate(); } catch { /* closed */ } }

  waitClose(ms = T(5000)) { return h.withTimeout(this.closed, ms, `${this.label}: close`); }
}

/** Open /ws/t?query; resolves after the greeting "hello ID" (c.id set). */
export async function connect(s, query = '', label = 'client') {
  const ws = new h.WebSocket(s.wsUrl(query));
  const c = new RtClient(ws, label);
  await h.withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), T(5000), `${label}: open`);
  const hello = await c.waitFor(/^hello \d+$/);
  c.id = hello.text.split(' ')[1];
  return c;
}

/**
 * One request on a raw socket (what node's http client will not send: no
 * Content-Length on a POST, Transfer-Encoding beside it). Resolves with the
 * status, the header lines and the raw text, once the server closed or after
 * a quiet `settle` ms.
 */
export function rawRequest(s, text, { settle = T(400) } = {}) {
  return h.withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect(s.port, '127.0.0.1');
    sockets.add(sock);
    let got = '';
    let timer;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      sockets.delete(sock);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      const head = got.split('\r\n\r\n')[0];
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: m ? Number(m[1]) : 0, headers, text: got });
    };
    sock.on('data', (d) => {
      got += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(finish, settle);
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (e) => (got ? finish() : reject(e)));
    sock.write(text);
  }), T(5000), 'raw request');
}
