#!/usr/bin/env node
// ref_server.mjs: the reference for `switchboard serve --socketio-conformance`,
// built on the Node socket.io 4.8.4 / engine.io 6 from tests/node, so the
// conformance tests (and the official suites) can be checked against the
// implementation they describe.
//
//   node tests/socketio/ref_server.mjs [--port N] [--cors-origins A,B]
//
// One HTTP server on 127.0.0.1 (port 3000 by default, 0 = a free one):
//   /engine.io/  a bare Engine.IO v4 server that sends every message back as is
//                (text or binary)
//   /socket.io/  Socket.IO v5, namespaces / and /custom; on connection both emit
//                `auth` with the CONNECT packet's auth payload; on /, `message`
//                is echoed as `message-back` and `message-with-ack` is acked,
//                both with the same arguments (binary included)
// Both: pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000; Socket.IO
// closes a connection that sends no CONNECT within 1000 ms. Without
// --cors-origins no CORS header is sent; with it, polling answers CORS for
// those origins (preflight 204). Anything else on HTTP: 404.
//
// Once listening it logs `event=listen bind=127.0.0.1 port=N` on stderr (the
// line the test harness waits for). SIGTERM/SIGINT: close and exit 0.
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
const { Server: SocketIOServer } = require('socket.io');
const engine = require('engine.io');

export const CONFIG = Object.freeze({
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1000000, // sent as maxPayload in the open packet
  connectTimeout: 1000,
});

function usage(msg) {
  process.stderr.write(`ref_server: ${msg}\nusage: ref_server.mjs [--port N] [--cors-origins A,B]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { port: 3000, cors: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) > 65535) usage(`bad port: ${v}`);
      o.port = Number(v);
    } else if (a === '--cors-origins') {
      o.cors = val().split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      usage(`unknown argument: ${a}`);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
// engine.io applies the `cors` package as a middleware: preflight 204, and the
// headers also on error answers. '*' stays the wildcard.
const cors = opts.cors
  ? { origin: opts.cors.length === 1 && opts.cors[0] === '*' ? '*' : opts.cors }
  : undefined;

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});

// Engine.IO echo. destroyUpgrade off: an upgrade for the other path is left to
// the other attachment instead of being ended after a second.
const eio = new engine.Server({ ...CONFIG, cors });
eio.attach(server, { path: '/engine.io', destroyUpgrade: false });
eio.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

const io = new SocketIOServer(server, {
  ...CONFIG,
  path: '/socket.io',
  serveClient: false,
  destroyUpgrade: false,
  cors,
});
io.on('connection', (socket) => {
  socket.emit('auth', socket.handshake.auth);
  socket.on('message', (...args) => {
    socket.emit('message-back', ...args);
  });
  socket.on('message-with-ack', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
io.of('/custom').on('connection', (socket) => {
  socket.emit('auth', socket.handshake.auth);
});

// anything else that asks for an upgrade is refused
server.on('upgrade', (req, socket) => {
  if (req.url.startsWith('/engine.io/') || req.url.startsWith('/socket.io/')) return;
  socket.on('error', () => {});
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
});

server.listen(opts.port, '127.0.0.1', () => {
  process.stderr.write(`event=listen bind=127.0.0.1 port=${server.address().port}\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close();
  eio.close();
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
