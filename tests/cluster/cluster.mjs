// cluster.mjs: the three-node deployment of docs/deployment.md on loopback, for
// tests and the bench: redis-server, a PostgreSQL cluster (initdb in a temp dir,
// as the `postgres` user when run as root), nginx (Debian's, unprivileged, as a
// child) and three `switchboard serve` nodes, each started from the files in
// docs/deployment/ (nginx.conf, redis.conf, postgresql.conf, node.flags) with
// their {{PLACEHOLDERS}} filled in.
//
// Every process is started in a process group of its own and killed (the whole
// group) by stop(), and, as a last resort, when the test process exits.
//
// Environment:
//   SWITCHBOARD_BIN   the binary (default build/switchboard)
//   SB_CLUSTER_DB     postgres | sqlite (default: postgres when the binary's
//                     `serve --help` mentions postgres, else one shared SQLite
//                     file, which several processes on one machine can share)
//   SB_CLUSTER_BUS    0: no Redis even if the binary has --redis
//   SB_TEST_KEEP      1 keeps the temp dir (logs of every process)
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as h from '../integration/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const WebSocket = require('ws');
export const { io } = require('socket.io-client');
export const jwt = require('jsonwebtoken');
export { h };
export const { T, sleep, until, withTimeout } = h;
export const DEPLOY = path.join(h.ROOT, 'docs', 'deployment');
const KEEP = process.env.SB_TEST_KEEP === '1';
const IS_ROOT = process.getuid && process.getuid() === 0;

/** what the binary can do: {bus, postgres} from `serve --help` */
export function features(bin = h.BIN) {
  const help = spawnSync(bin, ['serve', '--help'], { encoding: 'utf8' });
  const text = `${help.stdout}${help.stderr}`;
  const flags = new Set(text.match(/--[a-z][a-z0-9-]*/g) || []);
  return { bus: flags.has('--redis'), postgres: /postgres(ql)?:\/\//i.test(text), nodeId: flags.has('--node-id'), flags };
}

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** the PostgreSQL server binaries' directory (initdb, postgres, pg_ctl) */
export function pgBin() {
  const initdb = which('initdb') || (fs.existsSync('/usr/lib/postgresql') &&
    fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin/initdb`).find((p) => fs.existsSync(p)));
  if (!initdb) return null;
  return path.dirname(fs.realpathSync(initdb));
}

/** {{NAME}} -> vars[NAME]; an unknown placeholder is an error */
export function fill(text, vars) {
  return text.replace(/\{\{(\w+)\}\}/g, (m, k) => {
    if (!(k in vars)) throw new Error(`no value for ${m}`);
    return String(vars[k]);
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// Processes -----------------------------------------------------------------

const procs = new Set();
function killGroupSync(p, sig = 'SIGKILL') {
  if (p.exitCode !== undefined) return;
  try { process.kill(-p.pid, sig); } catch { try { process.kill(p.pid, sig); } catch { /* gone */ } }
}
process.on('exit', () => { for (const p of procs) killGroupSync(p); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { for (const p of procs) killGroupSync(p); process.exit(130); });
}

/** spawn cmd in its own process group; output appended to logFile */
function start(name, cmd, args, { logFile, env = process.env } = {}) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const p = { name, pid: child.pid, child, logFile, exitCode: undefined, signal: undefined };
  p.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    p.exitCode = code; p.signal = signal; procs.delete(p); resolve({ code, signal });
  }));
  child.on('error', (e) => { p.error = e; });
  procs.add(p);
  p.log = () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } };
  p.kill = async (sig = 'SIGKILL', ms = T(10000)) => {
    killGroupSync(p, sig);
    return withTimeout(p.exited, ms, `${name} exit after ${sig}`);
  };
  return p;
}

async function waitLog(p, re, what, ms = T(20000)) {
  await until(() => {
    if (p.exitCode !== undefined) throw new Error(`${p.name} exited (${p.exitCode}/${p.signal}) before ${what}:\n${p.log().slice(-3000)}`);
    return re.exec(p.log());
  }, ms, `${p.name}: ${what}`, 25);
  return re.exec(p.log());
}

// Redis -----------------------------------------------------------------------

export class Redis {
  constructor(dir, port) { this.dir = dir; this.port = port; this.url = `redis://127.0.0.1:${port}`; }
  async start() {
    fs.mkdirSync(this.dir, { recursive: true });
    const conf = path.join(this.dir, 'redis.conf');
    fs.writeFileSync(conf, fill(fs.readFileSync(path.join(DEPLOY, 'redis.conf'), 'utf8'), { PORT: this.port, DIR: this.dir }));
    this.proc = start('redis', 'redis-server', [conf], { logFile: path.join(this.dir, 'redis.log') });
    await until(() => tcpOpen(this.port), T(10000), 'redis listening');
    return this;
  }
  async stop(sig = 'SIGKILL') { if (this.proc) await this.proc.kill(sig); }
  async restart(downMs = 0) { await this.stop(); if (downMs) await sleep(downMs); return this.start(); }
}

// PostgreSQL --------------------------------------------------------------------
// A cluster of its own: initdb (as `postgres` when root: initdb refuses root),
// docs/deployment/postgresql.conf appended, `postgres -D` as a child.

export class Postgres {
  constructor(dir, port) {
    this.dir = dir; this.data = path.join(dir, 'data'); this.port = port;
    this.bin = pgBin(); this.user = 'switchboard'; this.dbName = 'switchboard';
    this.url = `postgres://${this.user}@127.0.0.1:${port}/${this.dbName}`;
  }
  asOwner(cmd, args) {
    return IS_ROOT ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] : [cmd, args];
  }
  async init() {
    fs.mkdirSync(this.dir, { recursive: true });
    if (IS_ROOT) {
      // the temp dirs above are root's 0700: the postgres user must pass through them
      for (let d = this.dir; d !== path.dirname(d) && d.startsWith(os.tmpdir()) && d !== os.tmpdir(); d = path.dirname(d)) fs.chmodSync(d, 0o711);
      execFileSync('chown', ['postgres:postgres', this.dir]);
    }
    const [c, a] = this.asOwner(path.join(this.bin, 'initdb'), ['-D', this.data, '-U', this.user, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], timeout: T(60000) });
    const add = fill(fs.readFileSync(path.join(DEPLOY, 'postgresql.conf'), 'utf8'), { PORT: this.port, DIR: this.dir });
    fs.appendFileSync(path.join(this.data, 'postgresql.conf'), `\n# docs/deployment/postgresql.conf\n${add}\nfsync = off\n`);
    await this.start();
    execFileSync('createdb', ['-h', '127.0.0.1', '-p', String(this.port), '-U', this.user, this.dbName], { timeout: T(20000) });
    return this;
  }
  async start() {
    const [c, a] = this.asOwner(path.join(this.bin, 'postgres'), ['-D', this.data]);
    this.proc = start('postgres', c, a, { logFile: path.join(this.dir, 'postgres.log') });
    await until(() => spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(this.port)]).status === 0, T(30000), 'postgres ready', 100);
    return this;
  }
  /** SIGINT: fast shutdown (clients are cut off); SIGKILL: a crash */
  async stop(sig = 'SIGINT') { if (this.proc) await this.proc.kill(sig, T(30000)); }
  psql(sql) {
    return execFileSync('psql', ['-h', '127.0.0.1', '-p', String(this.port), '-U', this.user, '-d', this.dbName, '-At', '-c', sql], { encoding: 'utf8', timeout: T(20000) });
  }
}

// nginx ---------------------------------------------------------------------------

export class Nginx {
  /** transform(text): a variant of the shipped config (the tests' counter-examples) */
  constructor(dir, port, upstreams, transform = (t) => t) { this.dir = dir; this.port = port; this.upstreams = upstreams; this.transform = transform; }
  async start() {
    for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(this.dir, 'tmp', t), { recursive: true });
    if (IS_ROOT) { // the workers run as nobody: they must reach the temp paths
      for (let d = path.dirname(this.dir); d.startsWith(os.tmpdir()) && d !== os.tmpdir(); d = path.dirname(d)) fs.chmodSync(d, 0o711);
      fs.chmodSync(this.dir, 0o755);
      for (const t of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.chmodSync(path.join(this.dir, 'tmp', t), 0o777);
    }
    const conf = path.join(this.dir, 'nginx.conf');
    const [N1, N2, N3] = this.upstreams;
    fs.writeFileSync(conf, fill(this.transform(fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8')), {
      DIR: this.dir, LISTEN: `127.0.0.1:${this.port}`, N1, N2, N3,
    }));
    execFileSync('nginx', ['-t', '-q', '-p', this.dir, '-c', conf, '-e', path.join(this.dir, 'nginx-error.log')], { stdio: 'pipe' });
    this.proc = start('nginx', 'nginx', ['-p', this.dir, '-c', conf, '-e', path.join(this.dir, 'nginx-error.log'), '-g', 'daemon off;'], { logFile: path.join(this.dir, 'nginx.out') });
    await until(() => tcpOpen(this.port), T(10000), 'nginx listening');
    return this;
  }
  async stop() { if (this.proc) await this.proc.kill('SIGKILL'); }
}

// Switchboard nodes ------------------------------------------------------------------

export class Node {
  constructor(cluster, name, port) {
    this.cluster = cluster; this.name = name; this.port = port;
    this.base = `http://127.0.0.1:${port}`; this.addr = `127.0.0.1:${port}`;
  }
  args() {
    const c = this.cluster;
    const vars = {
      PORT: this.port, NODE: this.name, DB: c.dbUrl, DATA: path.join(c.dir, `data-${this.name}`), REDIS: c.redis ? c.redis.url : '',
      SECRETS: c.secrets, PUBLIC_URL: `http://127.0.0.1:${c.nginx ? c.nginx.port : this.port}`,
    };
    const args = ['serve'];
    for (const raw of fs.readFileSync(path.join(DEPLOY, 'node.flags'), 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const [flag, ...rest] = line.split(/\s+/);
      if (flag === '--redis' && !c.redis) continue;
      // a flag of a feature this binary lacks (--redis before the bus,
      // --data-dir before PostgreSQL): left out, the rest still runs
      if (!c.features.flags.has(flag)) continue;
      if (flag === '--data-dir' && c.dbKind !== 'postgres') continue;
      args.push(flag);
      if (rest.length) args.push(fill(rest.join(' '), vars));
    }
    return [...args, ...(c.extraArgs || [])];
  }
  async start() {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('SB_') && !k.startsWith('SB_TEST')) delete env[k];
    this.proc = start(this.name, h.BIN, this.args(), { logFile: path.join(this.cluster.dir, `${this.name}.log`), env });
    this.logFrom = 0;
    await waitLog(this.proc, /event=listen bind=\S+ port=(\d+)/, 'listen');
    this.pid = this.proc.pid;
    // Ready when /healthz says so, as a load balancer's health check would
    // have it (docs/deployment.md): the listen line comes before the bus
    // has connected, and a publish made before that is dropped, after which
    // the node's gap notice closes chat sockets on the others (1012).
    await until(async () => (await request(this, '/healthz').catch(() => ({ status: 0 }))).status === 200,
      T(15000), `${this.name} healthy`);
    return this;
  }
  get alive() { return this.proc && this.proc.exitCode === undefined; }
  log() { return this.proc ? this.proc.log() : ''; }
  async kill9() { await this.proc.kill('SIGKILL'); }
  async stop() { if (this.alive) await this.proc.kill('SIGTERM').catch(() => this.proc.kill('SIGKILL')); }
  /** CPU seconds of every thread, from /proc/PID/task/TID/schedstat (ns; the
   * stat file's utime + stime count 10 ms ticks) */
  cpuSeconds() {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${this.pid}/task`)) {
      try { ns += Number(fs.readFileSync(`/proc/${this.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* ended */ }
    }
    return ns / 1e9;
  }
}

export class Cluster {
  /**
   * opts: nodes (3), db ('postgres'|'sqlite'|auto), bus (true: Redis when the
   * binary has --redis), nginx (true), args (extra flags for every node)
   */
  constructor(opts = {}) {
    this.opts = opts;
    this.features = features();
    const want = process.env.SB_CLUSTER_DB || opts.db;
    this.dbKind = want || (this.features.postgres ? 'postgres' : 'sqlite');
    this.useBus = opts.bus !== false && process.env.SB_CLUSTER_BUS !== '0' && this.features.bus;
    this.extraArgs = opts.args || [];
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cluster-'));
    this.secrets = path.join(this.dir, 'secrets');
    fs.mkdirSync(this.secrets, { mode: 0o700 });
    // shared secrets, made once before any node starts (docs/deployment.md)
    this.jwtSecret = `cluster-${Math.random().toString(36).slice(2)}-0123456789abcdef0123456789`;
    fs.writeFileSync(path.join(this.secrets, 'jwt-secret'), this.jwtSecret, { mode: 0o600 });
    fs.writeFileSync(path.join(this.secrets, 'therapy-secret'), `${Math.random().toString(36).slice(2)}-therapy-0123456789abcdef0123456789`, { mode: 0o600 });
    this.sms = path.join(this.secrets, 'sms.jsonl');
    try {
      const n = this.opts.nodes ?? 3;
      const ports = [];
      for (let i = 0; i < n + 3; i++) ports.push(await freePort());
      if (this.useBus) this.redis = await new Redis(path.join(this.dir, 'redis'), ports[n]).start();
      if (this.dbKind === 'postgres') {
        this.pg = await new Postgres(path.join(this.dir, 'pg'), ports[n + 1]).init();
        this.dbUrl = this.pg.url;
      } else {
        this.dbUrl = path.join(this.dir, 'cluster.db');
      }
      this.nodes = [];
      for (let i = 0; i < n; i++) this.nodes.push(new Node(this, `n${i + 1}`, ports[i]));
      if (this.opts.nginx !== false) {
        const ups = this.nodes.map((x) => x.addr);
        while (ups.length < 3) ups.push(ups[0]);
        this.nginx = await new Nginx(path.join(this.dir, 'nginx'), ports[n + 2], ups).start();
        this.proxy = { port: this.nginx.port, base: `http://127.0.0.1:${this.nginx.port}`, name: 'nginx', sms: this.sms };
      }
      if (this.dbKind === 'postgres') {
        // three nodes at once on an empty database: migrations under advisory locks
        await Promise.all(this.nodes.map((x) => x.start()));
      } else {
        await this.nodes[0].start(); // SQLite: the first migrates, the others find it done
        await Promise.all(this.nodes.slice(1).map((x) => x.start()));
      }
      this.byAddr = new Map(this.nodes.map((x) => [x.addr, x]));
      for (const x of this.nodes) x.sms = this.sms;
    } catch (e) {
      await this.stop(true);
      throw e;
    }
    return this;
  }

  /** the node that holds an address nginx reported (X-Switchboard-Upstream) */
  nodeOf(upstream) {
    const last = String(upstream || '').split(',').map((s) => s.trim()).filter(Boolean).at(-1);
    return this.byAddr.get(last);
  }

  async stop(failed = false) {
    for (const x of this.nodes || []) await x.stop().catch(() => {});
    if (this.nginx) await this.nginx.stop().catch(() => {});
    if (this.redis) await this.redis.stop().catch(() => {});
    if (this.pg) await this.pg.stop('SIGINT').catch(() => this.pg.stop('SIGKILL').catch(() => {}));
    for (const p of [...procs]) killGroupSync(p);
    if (KEEP || (failed && process.env.SB_TEST_KEEP_FAILED === '1')) console.error(`kept ${this.dir}`);
    else if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** `switchboard ARGS --db DB` */
  cli(args) {
    return execFileSync(h.BIN, [...args, '--db', this.dbUrl], { encoding: 'utf8', timeout: T(20000) }).trim();
  }
  addUser(name, role = 'TECHNICIAN') {
    const [id, token] = this.cli(['user', 'add', '--name', name, '--role', role]).split('\t');
    return { id, token, name };
  }
  apiKey(name = `k${Math.random().toString(36).slice(2, 8)}`) {
    return /sbk_[0-9a-f]{64}/.exec(this.cli(['apikey', 'add', '--name', name]))[0];
  }
  token(claims = {}, ttl = 600) {
    const now = Math.floor(Date.now() / 1000);
    return jwt.sign({ sub: 'u1', company_id: 'c1', sid: 's1', exp: now + ttl, ...claims }, this.jwtSecret, { algorithm: 'HS256', noTimestamp: true });
  }
  /** logs of every process, for a failure's message */
  tail(n = 40) {
    const out = [];
    for (const x of this.nodes || []) out.push(`--- ${x.name}\n${x.log().split('\n').slice(-n).join('\n')}`);
    return out.join('\n');
  }
}

// Clients ---------------------------------------------------------------------------

/** A chat WebSocket to server (a node or the proxy); resolves once open. */
export async function chatSocket(server, token, { since, label = 'chat', authenticated = true } = {}) {
  const q = `token=${encodeURIComponent(token)}${since ? `&since=${since}` : ''}`;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/chat?${q}`);
  let upstream;
  ws.on('upgrade', (res) => { upstream = res.headers['x-switchboard-upstream']; });
  const c = new h.Client(ws, label);
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`${label}: HTTP ${res.statusCode}`)));
  }), T(5000), `${label}: open`);
  c.upstream = upstream;
  // 'open' is the transport's upgrade; the node authenticates after it (on
  // PostgreSQL the open's statements wait on the loop, its messages queue
  // behind it): a heartbeat's answer proves the connection was taken. A
  // refusal (the database down) closes it, and this throws.
  if (authenticated) {
    try {
      await c.ask({ action: 'heartbeat' }, (m) => m.type === 'heartbeat_response', `${label}: heartbeat`);
    } catch (e) {
      ws.terminate();
      throw e;
    }
  }
  return c;
}

/**
 * A chat user that stays connected: on a close it reconnects to `server` (the
 * proxy) with since= the highest message ID it has seen (0 at first), and counts every
 * new_message by ID (seen[id] = times).
 */
export class ChatPeer {
  constructor(server, user, label) {
    this.server = server; this.user = user; this.label = label;
    this.seen = new Map(); this.maxId = 0n; this.acked = new Map(); // cmid -> id
    this.connects = 0; this.closes = []; this.upstreams = []; this.sinces = [];
    this.stopped = false;
  }
  async connect(server = this.server) {
    for (let i = 0; ; i++) {
      try {
        // since=0 before it has seen anything, as a client that loaded the
        // room's history would send the newest ID it holds: a connection
        // without since= means "from whenever the node takes it", which a
        // message sent right after the socket opens can precede
        // (docs/deployment.md, Known gaps)
        const since = this.maxId > 0n ? this.maxId.toString() : '0';
        const c = await chatSocket(server, this.user.token, { since, label: this.label });
        this.sinces.push(since);
        this.c = c; this.connects++; this.upstreams.push(c.upstream);
        for (const text of c.raw) this.onFrame(text); // a replay may come before the heartbeat's answer
        c.ws.on('message', (d) => this.onFrame(d.toString('utf8')));
        c.ws.on('close', (code) => {
          this.closes.push(code);
          if (this.c === c) this.c = null;
          if (!this.stopped) this.reconnecting = this.connect().catch((e) => { this.error = e; });
        });
        return c;
      } catch (e) {
        if (this.stopped || i > 50) throw e;
        await sleep(100);
      }
    }
  }
  onFrame(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (m.type !== 'new_message') return;
    const msg = m.data.message;
    this.seen.set(msg.id, (this.seen.get(msg.id) || 0) + 1);
    const id = BigInt(msg.id);
    if (id > this.maxId) this.maxId = id;
    if (msg.is_sent && msg.client_message_id) this.acked.set(msg.client_message_id, msg.id);
  }
  get open() { return this.c && this.c.ws.readyState === WebSocket.OPEN; }
  send(obj) { if (this.open) { this.c.send(obj); return true; } return false; }
  close() { this.stopped = true; if (this.c) this.c.ws.terminate(); }
}

/** one HTTP request through server; resolves {status, headers, text, json} */
export const request = (server, p, opts) => h.request(server, p, opts);
