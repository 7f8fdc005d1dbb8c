// Out of descriptors. Plain TCP connections that never send a byte used to
// fill the descriptor table: then accept(2) failed with EMFILE on every loop
// turn, the server spun at 100% CPU and logged ~200,000 lines a second until
// lws' handshake timeout freed them. Now lws stops accepting before the
// table is full (descriptors kept in reserve), one address may hold only a
// limited number of connections (an eighth of --max-ip-connections) that are not yet a WebSocket or an HTTP request, and the
// refusals are counted and logged at most once a second.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import * as h from './harness.mjs';

after(h.cleanup);

const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
};

function openIdle(port, n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.on('error', () => {});
    socks.push(c);
  }
  return socks;
}

function get(port, localAddress, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.setTimeout(h.T(3000), () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('1,100 silent connections under a 1,024 descriptor limit: no spin, no log flood, others still served', async () => {
  const s = await h.startServer({ tag: 'fds', nofile: 1024, args: ['--max-ip-connections', '512'] });
  assert.match(s.stderr, /event=descriptors limit=1024 clients=960 reserved=64/);
  const linesBefore = s.stderr.split('\n').length;
  const t0 = cpuTicks(s.pid);
  const socks = openIdle(s.port, 1100);
  await h.sleep(h.T(3000));
  const ticks = cpuTicks(s.pid) - t0; // 100 ticks a second
  const lines = s.stderr.split('\n').length - linesBefore;
  // another client (another address on the loopback) is served meanwhile
  const r = await get(s.port, '127.0.0.2', '/healthz');
  assert.equal(r.status, 200);
  for (const c of socks) c.destroy();
  await h.sleep(h.T(300)); // their places are free again: 127.0.0.1 may ask
  const m = await h.metrics(s);
  assert.ok(ticks < 50, `server CPU over 3 s: ${ticks} ticks (spinning?)`);
  assert.ok(lines < 20, `${lines} log lines in 3 s`);
  assert.ok(m['switchboard_connections_refused_total{reason="address_limit"}'] > 1000,
    JSON.stringify(m));
  assert.match(s.stderr, /event=connections_refused reason=too_many_pending_from_address peer=127\.0\.0\.1/);
});

test('connections from one address are capped (--max-ip-connections); other addresses are not', async () => {
  const s = await h.startServer({ tag: 'perip', args: ['--max-ip-connections', '20'] });
  const u = s.users;
  const mine = [];
  for (let i = 0; i < 20; i++) mine.push(await h.login(s, u.alice, `a${i}`));
  // the 21st from 127.0.0.1 is refused at accept
  await assert.rejects(h.connect(s, { token: u.alice.token }));
  // from 127.0.0.2 it is fine
  const other = await get(s.port, '127.0.0.2', '/healthz');
  assert.equal(other.status, 200);
  for (const c of mine) c.close();
});
