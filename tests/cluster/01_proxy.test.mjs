// Every protocol through nginx (docs/deployment/nginx.conf) in front of three
// nodes: the chat WebSocket, realtime over polling only (sticky by the sid's
// node prefix), realtime upgraded from polling to WebSocket, the dashboard's
// handshake, WebSocket and operator API, therapy's OTP login and long poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Cluster, Nginx, freePort, chatSocket, io, request, T, until, withTimeout, WebSocket, h } from './cluster.mjs';
import * as th from '../therapy/th.mjs';

let c;
before(async () => { c = await new Cluster().start(); });
after(async () => { await c?.stop(); });

const isNew = (m) => m.type === 'new_message';

test('chat through nginx: two users converse, each WebSocket proxied with its upgrade', async () => {
  const a = c.addUser('Ann'), b = c.addUser('Ben');
  const ca = await chatSocket(c.proxy, a.token, { label: 'ann' });
  let cb = await chatSocket(c.proxy, b.token, { label: 'ben' });
  // without the bus only users on one node hear each other (02 crosses nodes)
  for (let i = 0; !c.useBus && c.nodeOf(cb.upstream) !== c.nodeOf(ca.upstream) && i < 20; i++) {
    cb.close();
    cb = await chatSocket(c.proxy, b.token, { label: 'ben' });
  }
  assert.ok(c.nodeOf(ca.upstream) && c.nodeOf(cb.upstream), `nginx names the node: ${ca.upstream} ${cb.upstream}`);
  ca.send({ action: 'send_message', receiver_id: b.id, text: 'hello through nginx', client_message_id: 'p1' });
  const got = await cb.waitFor((m) => isNew(m) && m.data.message.text === 'hello through nginx', { ms: T(5000), what: 'ben gets it' });
  const echo = await ca.waitFor((m) => isNew(m) && m.data.message.is_sent, { ms: T(5000), what: 'ann ack' });
  assert.equal(echo.data.message.id, got.data.message.id);
  assert.equal(echo.data.message.client_message_id, 'p1');
  const hb = await ca.ask({ action: 'heartbeat' }, (m) => m.type === 'heartbeat_response');
  assert.equal(hb.status, 'ok');
  ca.close(); cb.close();
});

function rtSocket(server, opts = {}) {
  const s = io(server.base, {
    path: '/realtime', auth: { token: c.token() }, query: { sessionId: 's1' }, reconnection: false, forceNew: true, ...opts,
  });
  s.messages = [];
  s.on('message', (m) => s.messages.push(typeof m === 'string' ? JSON.parse(m) : m));
  return s;
}
const connected = (s) => withTimeout(new Promise((resolve, reject) => {
  if (s.connected) return resolve(s);
  s.once('connect', () => resolve(s));
  s.once('connect_error', reject);
}), T(10000), 'socket.io connect');
async function ping(s, id) {
  s.emit('message', JSON.stringify({ type: 'REQUEST', requestId: id, action: 'ping' }));
  await until(() => s.messages.find((m) => m.requestId === id), T(8000), `answer to ${id}`);
  return s.messages.find((m) => m.requestId === id);
}

test('realtime over polling only: every session stays on the node its sid names', async () => {
  const socks = [];
  for (let i = 0; i < 6; i++) socks.push(await connected(rtSocket(c.proxy, { transports: ['polling'] })));
  const nodes = socks.map((s) => /^(n\d)-/.exec(s.io.engine.id)?.[1]);
  assert.ok(nodes.every(Boolean), `every sid carries its node: ${socks.map((s) => s.io.engine.id)}`);
  assert.ok(new Set(nodes).size >= 2, `handshakes spread over the nodes: ${nodes}`);
  // many polls and POSTs per session: each must reach the node holding it
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all(socks.map((s, i) => ping(s, `p${round}-${i}`)));
    for (const a of answers) assert.equal(a.type, 'RESPONSE', JSON.stringify(a));
  }
  for (const s of socks) assert.equal(s.io.engine.transport.name, 'polling');
  for (const s of socks) assert.ok(s.connected, 'still connected');
  for (const s of socks) s.close();
});

test('realtime: polling upgraded to WebSocket through nginx', async () => {
  const s = rtSocket(c.proxy, {});
  await connected(s);
  await until(() => s.io.engine.transport.name === 'websocket', T(10000), 'upgrade to websocket');
  const a = await ping(s, 'u1');
  assert.equal(a.type, 'RESPONSE');
  // and WebSocket only (no sid in the URL: balanced like the chat)
  const w = await connected(rtSocket(c.proxy, { transports: ['websocket'] }));
  assert.equal((await ping(w, 'w1')).type, 'RESPONSE');
  s.close(); w.close();
});

test('dashboard through nginx: handshake, WebSocket, operator push', async () => {
  const key = c.apiKey();
  const op = (method, p, body) => request(c.proxy, p, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(key ? { Authorization: `Bearer ${key}` } : {}) },
  });
  const t = await op('POST', '/request_for_auth', { case_id: '1', user_id: '42' });
  assert.equal(t.status, 200, t.text);
  const hs = await request(c.proxy, '/auth_handshake', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth_ticket: t.json.auth_ticket, case_id: '1', user_id: '42' }),
  });
  assert.equal(hs.status, 200, hs.text);
  const ws = new WebSocket(`ws://127.0.0.1:${c.proxy.port}/api/v1/ws?case_id=1&fin_session_id=${encodeURIComponent(hs.json.fin_session_id)}&user_id=42`);
  const tab = new h.Client(ws, 'tab');
  ws.on('upgrade', (res) => { tab.upstream = res.headers['x-switchboard-upstream']; });
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), T(5000), 'tab open');
  await tab.waitFor((m) => m.action === 'init_data', { ms: T(5000), what: 'init_data' });
  const from = tab.mark();
  // without the bus a push reaches the tabs of the node that made the change:
  // then the change goes to the tab's node (02_cross_node: through another)
  const via = c.useBus ? c.proxy : c.nodeOf(tab.upstream);
  assert.ok(via, `the tab's node: ${tab.upstream}`);
  const r = await request(via, '/api/v1/cases/1/components/square_1/refresh', {
    method: 'POST', body: JSON.stringify({ key: 'k-proxy' }), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
  });
  assert.equal(r.status, 200, r.text);
  await tab.waitFor((m) => m.action === 'request_component_refresh' && m.data.key === 'k-proxy', { from, ms: T(5000), what: 'push' });
  const g = await op('GET', '/api/v1/cases/1/dashboard');
  assert.equal(g.status, 200);
  tab.close();
});

test('therapy through nginx: OTP login, a long poll woken by a save', async () => {
  const g = th.addGroup(c.dbUrl, 2, { tag: 'proxy' });
  const a = await th.browserIn(c.proxy, g.people[0], g.ts, 'pat0');
  const b = await th.browserIn(c.proxy, g.people[1], g.ts, 'pat1');
  const first = await b.actions(0);
  assert.equal(first.status, 200, first.text);
  const last = first.json.max_id;
  // without the bus a long poll on another node than the save's sees it when
  // its wait runs out (it reads the database again); with it, at once
  const wait = c.useBus ? 20 : 3;
  const t0 = Date.now();
  const poll = b.actions(last, { wait });
  await h.sleep(300);
  const s = await a.save([th.msg(a.user, 'through nginx')]);
  assert.equal(s.status, 200, s.text);
  const r = await poll;
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.actions.some((x) => x.body === 'through nginx'), JSON.stringify(r.json));
  if (c.useBus) assert.ok(Date.now() - t0 < 15000, `woken before its wait ran out (${Date.now() - t0} ms)`);
});

test('healthz and metrics through nginx; X-Switchboard-Upstream names a node', async () => {
  const r = await request(c.proxy, '/healthz');
  assert.equal(r.status, 200, r.text);
  assert.ok(c.nodeOf(r.headers['x-switchboard-upstream']), r.headers['x-switchboard-upstream']);
});

/** nginx.conf with `proxy_pass http://$sb_upstream` replaced by one upstream of its own */
async function variant(name, balance) {
  const port = await freePort();
  const ng = new Nginx(path.join(c.dir, `nginx-${name}`), port, c.nodes.map((n) => n.addr), (t) => {
    const servers = c.nodes.map((n) => `server ${n.addr};`).join(' ');
    const out = t.replace('upstream switchboard {', `upstream ${name} { ${balance} ${servers} }\n    upstream switchboard {`)
      .replace('proxy_pass http://$sb_upstream;', `proxy_pass http://${name};`);
    assert.notEqual(out, t);
    return out;
  });
  await ng.start();
  return { ng, server: { port, base: `http://127.0.0.1:${port}` } };
}

/** n polling sessions through server, each pinged 3 times: how many worked */
async function pollingSessions(server, n) {
  let ok = 0;
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const s = rtSocket(server, { transports: ['polling'] });
    try {
      await connected(s);
      nodes.push(/^(n\d)-/.exec(s.io.engine.id)[1]);
      for (let k = 0; k < 3; k++) await ping(s, `v${i}-${k}`);
      if (s.connected) ok++;
    } catch { /* refused, or lost its session: counted as not ok */ }
    s.close();
  }
  return { ok, nodes };
}

test('counter-example: `hash $arg_sid` alone loses polling sessions (the handshake has no sid)', async () => {
  const { ng, server } = await variant('sbhash', 'hash $arg_sid;');
  try {
    const r = await pollingSessions(server, 10);
    // the handshake has no sid: nginx balances an empty key round robin; its
    // polls then hash the sid to any node, which does not know the session
    assert.ok(r.ok < 10, `some sessions must fail under hash $arg_sid: ${r.ok}/10 worked`);
  } finally { await ng.stop(); }
});

test('counter-example: `ip_hash` works but puts every loopback client on one node', async () => {
  const { ng, server } = await variant('sbip', 'ip_hash;');
  try {
    const r = await pollingSessions(server, 6);
    assert.equal(r.ok, 6, 'sticky: every session works');
    assert.equal(new Set(r.nodes).size, 1, `one /24, one node: ${r.nodes}`);
  } finally { await ng.stop(); }
});
