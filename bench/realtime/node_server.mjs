// node_server.mjs: the reference for bench/realtime. Node's socket.io 4.8.4 doing the job of
// Switchboard's /realtime endpoint, so that the benchmark can compare the two in the same run.
//
//   node bench/realtime/node_server.mjs --port 0 --jwt-secret S --api-key K [--bind 127.0.0.1]
//   (or the environment: SB_PORT, SB_BIND, SB_JWT_SECRET, SB_API_KEY; a flag wins)
//
// What it does, as Switchboard does it:
// - Socket.IO v5 / Engine.IO v4 at /realtime/, WebSocket and polling, default heartbeat
//   (ping every 25 s), no compression (engine.io's default).
// - The CONNECT auth {token} is an HS256 JWT (jsonwebtoken: HS256 pinned, exp required, 60 s of
//   clock tolerance) whose `sid` must equal the query's sessionId and which names the user
//   (`sub`) and the company (`company_id`). Anything else is refused with an Error, which the
//   client sees as connect_error (the packet 44{"message":...}).
// - Every connection joins room company:<company_id>, and artifact:<company_id>:<artifactId>
//   when the query names an artifact (which the token's `artifacts` claim must allow).
// - No connection-state recovery (socket.io's default): socket.io's would also keep every
//   RESPONSE emitted, a heavier job than Switchboard's (which keeps the UPDATEs).
// - Event `message`, a JSON string (an object is accepted too): REQUEST ping is answered with
//   RESPONSE {time}; any other action with ERROR UNKNOWN_ACTION; something that is not a
//   REQUEST envelope with ERROR INVALID_MESSAGE. Answers are JSON strings in event `message`.
// - POST /api/v1/realtime/updates on the same port, `Authorization: Bearer <key>`, body
//   {"company_id","action","data","requestId"} (artifact_id: to that artifact's room instead;
//   requestId: Date.now() when absent):
//   the UPDATE envelope is serialized once (JSON.stringify here; socket.io's broadcast encodes
//   the packet once for the whole room) and handed to every socket of the room, then the answer
//   is 200 {"requestId","delivered":N} with N the sockets in the room.
//
// On start it prints `event=listen bind=ADDR port=N` on stderr, as Switchboard does. SIGTERM or
// SIGINT ends it.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tests', 'node', 'package.json'));
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');
const NODE_MODULES = path.join(here, '..', '..', 'tests', 'node', 'node_modules');
const SIO_VERSION = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, 'socket.io', 'package.json'), 'utf8')).version;

function options() {
  const o = {
    port: process.env.SB_PORT ?? '0',
    bind: process.env.SB_BIND ?? '127.0.0.1',
    secret: process.env.SB_JWT_SECRET ?? '',
    apiKey: process.env.SB_API_KEY ?? '',
  };
  const names = { '--port': 'port', '--bind': 'bind', '--jwt-secret': 'secret', '--api-key': 'apiKey' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: node node_server.mjs --port N --jwt-secret S --api-key K [--bind ADDR]\n');
      process.exit(0);
    }
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) {
      process.stderr.write(`node_server: unknown option or missing value: ${argv[i]}\n`);
      process.exit(2);
    }
    o[key] = argv[++i];
  }
  o.port = Number(o.port);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('--port: 0..65535');
  if (Buffer.byteLength(o.secret) < 32) fail('--jwt-secret: at least 32 bytes (as Switchboard requires)');
  if (!o.apiKey) fail('--api-key is required');
  return o;
}

function fail(msg) {
  process.stderr.write(`node_server: ${msg}\n`);
  process.exit(2);
}

const opt = options();
const secret = Buffer.from(opt.secret);
const apiKeyHash = crypto.createHash('sha256').update(opt.apiKey).digest();

// The same checks as Switchboard's verifier (docs/jwt.md) and its CONNECT handler: the one
// algorithm, exp required and an integer, 60 s of leeway; the token must name a user and a
// company, its sid must be the query's sessionId, and an artifactId must be one its `artifacts`
// claim allows (a list, or "*"). The refusals say what Switchboard's say.
function authenticate(socket) {
  const token = socket.handshake.auth?.token;
  const { sessionId, artifactId } = socket.handshake.query ?? {};
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192) {
    throw new Error('Authentication failed: auth.token: required, 1 to 8192 bytes');
  }
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
    throw new Error('Invalid query: sessionId: required, 1 to 256 bytes');
  }
  if (artifactId !== undefined && (typeof artifactId !== 'string' || artifactId.length === 0 || artifactId.length > 256)) {
    throw new Error('Invalid query: artifactId: 1 to 256 bytes');
  }
  let claims;
  try {
    claims = jwt.verify(token, secret, { algorithms: ['HS256'], clockTolerance: 60 });
  } catch (e) {
    throw new Error(`Authentication failed: ${e.message}`);
  }
  if (!Number.isInteger(claims.exp)) throw new Error('Authentication failed: exp: missing');
  if (typeof claims.sub !== 'string' || !claims.sub) throw new Error('Authentication failed: the token names no user');
  if (typeof claims.company_id !== 'string' || !claims.company_id) throw new Error('Authentication failed: the token names no company');
  if (claims.sid !== sessionId) throw new Error("Invalid session: sessionId is not the token's session");
  if (artifactId !== undefined && claims.artifacts !== '*' &&
      !(Array.isArray(claims.artifacts) && claims.artifacts.includes(artifactId))) {
    throw new Error(`Access denied: artifactId ${artifactId} is not allowed by the token`);
  }
  return claims;
}

// Rooms: a company's, and an artifact's within its company (artifact IDs of two companies may
// be equal).
const companyRoom = (company) => `company:${company}`;
const artifactRoom = (company, artifact) => `artifact:${company}:${artifact}`;

const server = http.createServer(onHttp);
const io = new Server(server, {
  path: '/realtime',
  transports: ['polling', 'websocket'],
  serveClient: false,
});

io.use((socket, next) => {
  try {
    socket.data.claims = authenticate(socket);
    next();
  } catch (e) {
    next(e);
  }
});

io.on('connection', (socket) => {
  const claims = socket.data.claims;
  socket.join(companyRoom(claims.company_id));
  const { artifactId } = socket.handshake.query;
  if (artifactId !== undefined) socket.join(artifactRoom(claims.company_id, artifactId));
  socket.on('message', (raw) => onMessage(socket, raw));
});

function onMessage(socket, raw) {
  let m = raw;
  if (typeof raw === 'string') {
    try {
      m = JSON.parse(raw);
    } catch {
      m = null;
    }
  }
  if (!m || typeof m !== 'object' || Array.isArray(m) || m.type !== 'REQUEST' ||
      typeof m.requestId !== 'string' || m.requestId.length === 0 ||
      typeof m.action !== 'string' || m.action.length === 0) {
    const requestId = m && typeof m.requestId === 'string' ? m.requestId : '';
    socket.emit('message', JSON.stringify({
      type: 'ERROR', requestId, error: { code: 'INVALID_MESSAGE', message: 'Invalid message format' },
    }));
    return;
  }
  if (m.action === 'ping') {
    socket.emit('message', JSON.stringify({
      type: 'RESPONSE', requestId: m.requestId, action: 'ping', data: { time: Date.now() },
    }));
    return;
  }
  socket.emit('message', JSON.stringify({
    type: 'ERROR', requestId: m.requestId, action: m.action,
    error: { code: 'UNKNOWN_ACTION', message: 'Unknown action' },
  }));
}

// The operator endpoint ----------------------------------------------------------------------

const MAX_BODY = 1 << 20;

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function authorized(req) {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || !h.startsWith('Bearer ')) return false;
  // compare hashes: constant time whatever the length
  const got = crypto.createHash('sha256').update(h.slice(7)).digest();
  return crypto.timingSafeEqual(got, apiKeyHash);
}

function onHttp(req, res) {
  // socket.io answers /realtime/ itself before this listener runs
  const url = req.url.split('?')[0];
  if (url !== '/api/v1/realtime/updates') {
    answer(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    answer(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Method not allowed' } });
    return;
  }
  if (!authorized(req)) {
    req.resume();
    answer(res, 401, { error: { code: 'UNAUTHORIZED', message: 'API key required' } });
    return;
  }
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) tooBig = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (tooBig) {
      answer(res, 413, { error: { code: 'TOO_LARGE', message: 'Body too large' } });
      return;
    }
    let u;
    try {
      u = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      u = null;
    }
    const okStr = (v) => typeof v === 'string' && v.length > 0;
    if (!u || typeof u !== 'object' || Array.isArray(u) || !okStr(u.company_id) ||
        (u.action !== undefined && !okStr(u.action)) ||
        (u.requestId !== undefined && typeof u.requestId !== 'string') ||
        (u.artifact_id !== undefined && !okStr(u.artifact_id))) {
      answer(res, 400, { error: { code: 'INVALID_MESSAGE', message: 'Invalid message format' } });
      return;
    }
    const requestId = u.requestId ?? Date.now().toString();
    const update = { type: 'UPDATE', requestId };
    if (u.action !== undefined) update.action = u.action;
    if (u.data !== undefined) update.data = u.data;
    const room = u.artifact_id !== undefined ? artifactRoom(u.company_id, u.artifact_id) : companyRoom(u.company_id);
    const delivered = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    io.to(room).emit('message', JSON.stringify(update));
    answer(res, 200, { requestId, delivered });
  });
}

// Start and stop -----------------------------------------------------------------------------

server.listen(opt.port, opt.bind, () => {
  const a = server.address();
  process.stderr.write(`event=listen bind=${a.address} port=${a.port} impl=socket.io-${SIO_VERSION} node=${process.version}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
