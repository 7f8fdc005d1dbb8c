// emitter_harness.mjs: a real redis-server on a free loopback port, switchboard
// nodes with --redis, and a Node backend's side: the real @socket.io/redis-emitter
// 5.1 on the real `redis` client (tests/node). Clients come from the realtime
// harness (socket.io-client 4.8.4, JWTs minted with the test secret).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as rt from '../realtime/realtime_harness.mjs';
import { startRedis as startRedisServer } from '../bus/redis.mjs';

export * from '../realtime/realtime_harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const { Emitter } = require('@socket.io/redis-emitter');
export const { createClient } = require('redis');
/** notepack.io, the emitter's own MessagePack: for messages built by hand */
export const notepack = createRequire(require.resolve('@socket.io/redis-emitter'))('notepack.io');

const redises = new Set();
const clients = new Set();

/** redis-server on a free loopback port, no persistence (tests/bus/redis.mjs);
 * {port, url, stop(), ...}, stopped by cleanup(). */
export async function startRedis() {
  const r = await startRedisServer();
  redises.add(r);
  return r;
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
  for (const r of redises) await r.stop();
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
