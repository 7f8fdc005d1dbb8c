// redis.mjs: a real redis-server for the bus tests (Debian's), on a free
// loopback port, no persistence; killed by cleanup() or at exit.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import * as h from '../integration/harness.mjs';

export const REDIS = process.env.SB_REDIS_SERVER || process.env.REDIS_SERVER || 'redis-server';
const procs = new Set();
process.on('exit', () => { for (const p of procs) try { p.kill('SIGKILL'); } catch { /* gone */ } });

/** A port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start redis-server on port (a free one by default) with extra args
 * (e.g. --requirepass, --unixsocket): {port, url, stop(), cli(...args)}.
 * On a free port of its choosing, a start that fails (the port was taken
 * between the check and the bind) is tried again on another, twice.
 */
export async function startRedis(port, extra = []) {
  if (port) return startOn(port, extra);
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOn(await freePort(), extra);
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

async function startOn(port, extra) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', ...extra];
  const pw = extra.indexOf('--requirepass');
  const auth = pw >= 0 ? ['-a', extra[pw + 1], '--no-auth-warning'] : [];
  const p = spawn(REDIS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(p);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => p.on('exit', resolve));
  await h.until(() => /Ready to accept connections/.test(out) || p.exitCode !== null, h.T(10000), 'redis-server ready');
  if (p.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      procs.delete(p);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await h.withTimeout(exited, h.T(5000), 'redis-server exit');
    },
    /** SIGSTOP / SIGCONT: a Redis that answers nothing, its connections open */
    pause() { p.kill('SIGSTOP'); },
    resume() { p.kill('SIGCONT'); },
    cli(...a) {
      return execFileSync('redis-cli', ['-p', String(port), ...auth, ...a], { encoding: 'utf8', timeout: h.T(5000) }).trim();
    },
  };
}

/** Subscribers of channel in Redis (PUBSUB NUMSUB). */
export function numsub(redis, channel) {
  const out = redis.cli('PUBSUB', 'NUMSUB', channel).split('\n');
  return Number(out[1] || 0);
}

/** Wait until `n` connections (nodes) subscribe to the topic's channel. */
export function subscribed(redis, topic, n = 1, ms = 5000) {
  return h.until(() => numsub(redis, `sb:t:${topic}`) >= n, h.T(ms), `${n} subscriber(s) of sb:t:${topic}`);
}
