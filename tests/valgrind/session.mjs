// session.mjs PORT TOKEN_A TOKEN_B: a short chat session touching every
// action, an error path, the REST endpoints, and a client that is refused.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const WebSocket = createRequire(path.join(here, '..', 'node', 'package.json'))('ws');
const [port, tokA, tokB] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/ws/chat`;
const open = (ws) => new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const a = new WebSocket(`${url}?token=${tokA}`);
const b = new WebSocket(url, { headers: { Authorization: `Bearer ${tokB}` } });
const got = [];
a.on('message', (m) => got.push(JSON.parse(m)));
await Promise.all([open(a), open(b)]);
a.send(JSON.stringify({ action: 'send_message', receiver_id: '2', text: 'hello', client_message_id: 'v1' }));
a.send(JSON.stringify({ action: 'heartbeat' }));
a.send('{not json');
a.send(JSON.stringify({ action: 'dance' }));
await sleep(500);
b.send(JSON.stringify({ action: 'mark_delivered', message_id: '1' }));
b.send(JSON.stringify({ action: 'mark_read', message_id: '1' }));
b.send(JSON.stringify({ action: 'new_room', room_id: '2' }));
a.send('x'.repeat(70000)); // over --max-message: closed with 1009
await sleep(500);
const bad = new WebSocket(`${url}?token=nope`);
await new Promise((r) => bad.once('close', r));
for (const p of ['/api/v1/rooms', '/api/v1/rooms/2/messages', '/healthz', '/metrics', '/nope']) {
  await fetch(`http://127.0.0.1:${port}${p}`, { headers: { Authorization: `Bearer ${tokA}` } });
}
if (!got.some((m) => m.type === 'new_message')) { console.error('no new_message'); process.exit(1); }
b.close();
await sleep(200);
