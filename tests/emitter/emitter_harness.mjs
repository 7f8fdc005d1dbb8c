// emitter_harness.mjs: a real redis-server on a free loopback port, switchboard
// nodes with --redis, and a Node backend's side: the real @socket.io/redis-emitter
// 5.1 on the real `redis` client (tests/node). Clients come from the realtime
// harness (socket.io-client 4.8.4, JWTs minted with the test secret).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as rt from '../realtime/realtime_harness.mjs';

export * from '../realtime/realtime_harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const { Emitter } = require('@socket.io/redis-emitter');
export const { createClient } = require('redis');
/** notepack.io, the emitter's own MessagePack: for messages built by hand */
export const notepack = createRequire(require.resolve('@socket.io/redis-emitter'))('notepack.io');

const REDIS = process.env.REDIS_SERVER || 'redis-server';
const { T, withTimeout, sleep } = rt;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const redises = new Set();
const clients = new Set();

/** redis-server on 127.0.0.1 with no persistence; {port, url, proc, log, stop()}. */
export async function startRedis() {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { port, url: `redis://127.0.0.1:${port}`, proc, log: '', exited: false };
    proc.stdout.on('data', (d) => { r.log += d; });
    proc.stderr.on('data', (d) => { r.log += d; });
    proc.on('exit', () => { r.exited = true; });
    r.stop = () => { if (!r.exited) proc.kill('SIGKILL'); };
    redises.add(r);
    try {
      await withTimeout((async () => {
        while (!/Ready to accept connections/.test(r.log)) {
          if (r.exited) throw new Error(`redis-server exited:\n${r.log}`);
          await sleep(20);
        }
      })(), T(10000), 'redis-server ready');
      return r;
    } catch (e) {
      r.stop();
      if (attempt >= 2) throw e; // the port was taken in between: try another
    }
  }
}

/** A connected `redis` client (closed by cleanup). */
export async function redisClient(url) {
  const c = createClient({ url });
  c.on('error', () => { /* reconnects; the test's waits say what failed */ });
  await c.connect();
  clients.add(c);
  return c;
}

/** A switchboard node on this Redis (its own database). */
export function startNode(redis, args = []) {
  return rt.startRt({ args: ['--redis', redis.url, '--max-user-connections', '0', ...args] });
}

export async function cleanup() {
  for (const c of clients) {
    try { await c.quit(); } catch { /* gone */ }
  }
  clients.clear();
  await rt.cleanup();
  for (const r of redises) r.stop();
  redises.clear();
}

/**
 * Record every event a realtime client gets (name and arguments, as
 * socket.io-client hands them over) in c.events.
 */
export function recordEvents(c) {
  c.events = [];
  c.socket.onAny((event, ...args) => {
    c.events.push({ event, args });
    c.wake();
  });
  return c;
}
