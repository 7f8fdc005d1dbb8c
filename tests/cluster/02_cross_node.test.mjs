// Deliveries across nodes through the bus (--redis): chat users on different
// nodes converse; a realtime UPDATE posted to one node reaches clients on all;
// a dashboard change made through one node is pushed to a tab on another; a
// therapy long poll held by one node is woken by a save through another.
// Clients go through nginx; where a scenario needs two nodes, the second client
// connects to a node's port directly (pinned), a node other than nginx chose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, features, chatSocket, io, request, T, until, withTimeout, WebSocket, h } from './cluster.mjs';
import * as th from '../therapy/th.mjs';

const F = features();
const SKIP = process.env.SB_CLUSTER_FORCE !== '1' && (!F.bus || process.env.SB_CLUSTER_BUS === '0') ? 'needs the bus (--redis: branch bus)' : false;

let c;
before(async () => { if (!SKIP) c = await new Cluster().start(); });
after(async () => { await c?.stop(); });

const isNew = (m) => m.type === 'new_message';
const other = (node) => c.nodes.find((n) => n !== node);

test('chat: users on different nodes converse', { skip: SKIP }, async () => {
  const a = c.addUser('Ada'), b = c.addUser('Bo');
  const ca = await chatSocket(c.proxy, a.token, { label: 'ada via nginx' });
  const na = c.nodeOf(ca.upstream);
  assert.ok(na, ca.upstream);
  const nb = other(na);
  const cb = await chatSocket(nb, b.token, { label: `bo on ${nb.name}` });
  for (let i = 0; i < 5; i++) {
    const from = cb.mark();
    ca.send({ action: 'send_message', receiver_id: b.id, text: `a${i}` });
    const got = await cb.waitFor((m) => isNew(m) && m.data.message.text === `a${i}`, { from, ms: T(5000), what: `bo gets a${i} from ${na.name}` });
    const fromA = ca.mark();
    cb.send({ action: 'send_message', room_id: got.data.room_id, text: `b${i}` });
    await ca.waitFor((m) => isNew(m) && m.data.message.text === `b${i}`, { from: fromA, ms: T(5000), what: `ada gets b${i} from ${nb.name}` });
  }
  // read receipts cross too
  const last = ca.messages.filter(isNew).at(-1).data.message;
  const fromB = cb.mark();
  ca.send({ action: 'mark_read', message_id: last.id });
  await cb.waitFor((m) => m.type === 'message_status' && m.data.status === 'read', { from: fromB, ms: T(5000), what: 'read receipt across nodes' });
  ca.close(); cb.close();
});

test('realtime: an UPDATE posted to one node reaches clients on every node', { skip: SKIP }, async () => {
  const key = c.apiKey();
  const socks = [];
  const on = new Set();
  // polling clients through nginx until every node holds one (the sid names it)
  for (let i = 0; i < 15 && on.size < c.nodes.length; i++) {
    const s = io(c.proxy.base, { path: '/realtime', auth: { token: c.token({ company_id: 'co-x' }) }, query: { sessionId: 's1' }, transports: ['polling'], reconnection: false, forceNew: true });
    s.got = [];
    s.on('message', (m) => s.got.push(typeof m === 'string' ? JSON.parse(m) : m));
    await withTimeout(new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }), T(10000), 'connect');
    const n = /^(n\d)-/.exec(s.io.engine.id)[1];
    if (on.has(n)) { s.close(); continue; }
    on.add(n); s.node = n; socks.push(s);
  }
  // and one on each node's port directly, over WebSocket
  for (const n of c.nodes) {
    const s = io(n.base, { path: '/realtime', auth: { token: c.token({ company_id: 'co-x' }) }, query: { sessionId: 's1' }, transports: ['websocket'], reconnection: false, forceNew: true });
    s.got = [];
    s.on('message', (m) => s.got.push(typeof m === 'string' ? JSON.parse(m) : m));
    await withTimeout(new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }), T(10000), 'connect');
    s.node = `${n.name} (ws)`;
    socks.push(s);
  }
  assert.ok(on.size >= 2, `polling clients on several nodes: ${[...on]}`);
  const r = await request(c.nodes[0], '/api/v1/realtime/updates', {
    method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ company_id: 'co-x', action: 'statusChange', data: { k: 1 }, requestId: 'x1' }),
  });
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.text}`);
  for (const s of socks) {
    await until(() => s.got.some((m) => m.type === 'UPDATE' && m.requestId === 'x1'), T(5000), `UPDATE on ${s.node}`);
  }
  for (const s of socks) s.close();
});

async function tab(server, key, user) {
  const t = await request(server, '/request_for_auth', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` }, body: JSON.stringify({ case_id: '7', user_id: user }) });
  assert.equal(t.status, 200, t.text);
  const hs = await request(server, '/auth_handshake', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ auth_ticket: t.json.auth_ticket, case_id: '7', user_id: user }) });
  assert.equal(hs.status, 200, hs.text);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/v1/ws?case_id=7&fin_session_id=${encodeURIComponent(hs.json.fin_session_id)}&user_id=${user}`);
  const cl = new h.Client(ws, `tab ${user}`);
  ws.on('upgrade', (res) => { cl.upstream = res.headers['x-switchboard-upstream']; });
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), T(5000), 'tab open');
  await cl.waitFor((m) => m.action === 'init_data', { ms: T(5000), what: 'init_data' });
  return cl;
}

test('dashboard: a change made through one node is pushed to tabs on the others', { skip: SKIP }, async () => {
  const key = c.apiKey();
  const t1 = await tab(c.proxy, key, '41');
  const n1 = c.nodeOf(t1.upstream);
  const t2 = await tab(other(n1), key, '42');
  const third = c.nodes.find((n) => n !== n1 && n !== other(n1));
  const marks = [t1.mark(), t2.mark()];
  const r = await request(third, '/api/v1/cases/7/components/square_1/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` }, body: JSON.stringify({ key: 'cross' }) });
  assert.equal(r.status, 200, r.text);
  await t1.waitFor((m) => m.action === 'request_component_refresh' && m.data.key === 'cross', { from: marks[0], ms: T(5000), what: `push to ${n1.name}` });
  await t2.waitFor((m) => m.action === 'request_component_refresh' && m.data.key === 'cross', { from: marks[1], ms: T(5000), what: `push to ${other(n1).name}` });
  t1.close(); t2.close();
});

test('therapy: a long poll held by one node is woken by a save through another', { skip: SKIP }, async () => {
  const g = th.addGroup(c.dbUrl, 2, { tag: 'cross' });
  const a = await th.browserIn(c.proxy, g.people[0], g.ts, 'pat0');
  const b = await th.browserIn(c.proxy, g.people[1], g.ts, 'pat1');
  const last = (await b.actions(0)).json.max_id;
  b.server = c.nodes[1]; // the poll is held by n2 ...
  a.server = c.nodes[0]; // ... the save goes to n1
  const t0 = Date.now();
  const poll = b.actions(last, { wait: 20 });
  await h.sleep(300);
  const s = await a.save([th.msg(a.user, 'across nodes')]);
  assert.equal(s.status, 200, s.text);
  const r = await poll;
  const ms = Date.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.actions.some((x) => x.body === 'across nodes'), JSON.stringify(r.json));
  assert.ok(ms < 5000, `woken by the save on the other node, not by its 20 s wait (${ms} ms)`);
});
