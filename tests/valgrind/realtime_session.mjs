// realtime_session.mjs PORT TOKEN KEY: a short Socket.IO session at /realtime under
// valgrind: polling then the upgrade, a REQUEST answered, an unknown action, an
// UPDATE pushed through the operator API, a proxied action without an upstream, a
// refused CONNECT, a raw polling session left behind for the shutdown to end.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { io } = createRequire(path.join(here, '..', 'node', 'package.json'))('socket.io-client');
const [port, token, key] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const fail = (why) => { console.error(`realtime session: ${why}`); process.exit(1); };

const s = io(base, { path: '/realtime', auth: { token }, query: { sessionId: 'vg' }, reconnection: false });
const got = [];
s.on('message', (m) => got.push(JSON.parse(m)));
await new Promise((res, rej) => { s.on('connect', res); s.on('connect_error', rej); setTimeout(() => rej(new Error('connect timeout')), 20000); })
  .catch((e) => fail(e.message));
s.emit('message', JSON.stringify({ type: 'REQUEST', requestId: '1', action: 'ping' }));
s.emit('message', JSON.stringify({ type: 'REQUEST', requestId: '2', action: 'nope' }));
s.emit('message', JSON.stringify({ type: 'REQUEST', requestId: '3', action: 'processData', data: { input: 'x' } }));
const r = await fetch(`${base}/api/v1/realtime/updates`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ company_id: 'vg-company', action: 'statusChange', data: { status: 'done' }, requestId: 'u1' }),
});
if (r.status !== 200) fail(`POST updates: ${r.status} ${await r.text()}`);
const deadline = Date.now() + 20000;
while (got.length < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
const kinds = got.map((m) => `${m.type}:${m.requestId}`).sort().join(' ');
if (kinds !== 'ERROR:2 ERROR:3 RESPONSE:1 UPDATE:u1') fail(`got ${kinds}`);
s.close();
const bad = io(base, { path: '/realtime', auth: { token: 'nope' }, query: { sessionId: 'vg' }, reconnection: false });
await new Promise((res) => { bad.on('connect_error', res); setTimeout(res, 20000); });
bad.close();
// a polling session nobody closes: the server's shutdown ends it
const hs = await fetch(`${base}/realtime/?EIO=4&transport=polling`);
if (hs.status !== 200) fail(`handshake: ${hs.status}`);
console.log('realtime session: ok');
process.exit(0);
