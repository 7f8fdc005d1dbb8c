// ceiling_server.mjs: how many deliveries a second sioload itself can count. A fake server
// that speaks just enough Engine.IO/Socket.IO over WebSocket (open packet, CONNECT answer, no
// token check) and, at the first measured update, writes the frames of ALL the measured updates
// to every socket in one write per socket: the server costs next to nothing, and the fan-out
// rate sioload reports is its own ceiling (with everything batched).
//
//   node bench/realtime/ceiling_server.mjs [WARMUP_UPDATES 5] [UPDATES 100]
//   build/bench/realtime/sioload fanout --port P --token x.y.z --session s --api-key x \
//       --warmup-updates 5 --updates 100 --server-pid PID
//
// The two numbers must be sioload's --warmup-updates and --updates. Prints
// `event=listen bind=127.0.0.1 port=N` on stderr.
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tests', 'node', 'package.json'));
const { WebSocketServer } = require('ws');

const first = Number(process.argv[2] ?? 5);
const count = Number(process.argv[3] ?? 100);
const sockets = new Set();

const update = (k) => `42["message",${JSON.stringify(JSON.stringify({
  type: 'UPDATE', requestId: `u${k}`, action: 'statusChange', data: { status: 'completed', seq: k },
}))}]`;

function frame(text) { // an unmasked text frame
  const p = Buffer.from(text);
  const h = p.length < 126 ? Buffer.from([0x81, p.length]) : Buffer.from([0x81, 126, p.length >> 8, p.length & 255]);
  return Buffer.concat([h, p]);
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const k = Number(JSON.parse(body).requestId.slice(1));
    if (k < first) {
      for (const ws of sockets) ws.send(update(k));
    } else if (k === first) {
      const frames = [];
      for (let j = first; j < first + count; j++) frames.push(frame(update(j)));
      const all = Buffer.concat(frames);
      for (const ws of sockets) ws._socket.write(all);
    }
    const text = JSON.stringify({ requestId: `u${k}`, delivered: sockets.size });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
  ws.send('0{"sid":"ceiling","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  ws.on('message', (m) => {
    if (String(m).startsWith('40')) {
      ws.send('40{"sid":"ceiling"}');
      sockets.add(ws);
    }
  });
  ws.on('close', () => sockets.delete(ws));
}));

server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`event=listen bind=127.0.0.1 port=${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
