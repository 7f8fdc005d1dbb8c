// The Redis fan-out bus (runtime/bus.h): two switchboard nodes sharing one
// SQLite file and one real redis-server; real clients of every protocol.
// A client on one node hears what is stored through the other; each frame
// is serialized once per node; malformed bus messages are counted and
// dropped; Redis killed: both nodes keep delivering locally and say degraded,
// and when it is back the gap handlers bring every client up to date from
// the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import net from 'node:net';
import * as h from '../integration/harness.mjs';
import * as rt from '../realtime/rt.mjs';
import * as dh from '../dashboard/dh.mjs';
import * as th from '../therapy/th.mjs';
import { startRedis, subscribed, numsub } from './redis.mjs';

let redis; let dir; let A; let B;

async function startNode(name, redisPort) {
  const sms = path.join(dir, 'sms.jsonl');
  const s = await h.startServer({
    dir,
    demo: false,
    tag: 'bus',
    args: ['--redis', `redis://127.0.0.1:${redisPort}`, '--node-id', name, '--jwt-secret', rt.SECRET,
      '--sms', `file:${sms}`, '--otp-ip-limit', '0', '--otp-global-limit', '0', '--verify-ip-limit', '0',
      '--max-ip-connections', '0', '--log-level', 'debug'],
  });
  s.sms = sms;
  s.name = name;
  return s;
}

const metric = async (s, name) => (await h.metrics(s))[name] || 0;
const healthz = (s) => h.request(s, '/healthz');

before(async () => {
  redis = await startRedis();
  dir = h.tempDir('bus');
  A = await startNode('A', redis.port);
  B = await startNode('B', redis.port);
  for (const s of [A, B]) {
    await h.until(async () => (await healthz(s)).status === 200, h.T(5000), `${s.name} healthy`);
  }
});
after(async () => {
  rt.closeAll();
  for (const s of [A, B]) {
    // a node that died, or a sanitizer's report: its log's end, to see why
    if (s && (s.exitCode !== undefined || h.sanitizerReports(s).length || process.env.SB_BUS_DEBUG)) {
      console.error(`node ${s.name} (exit ${s.exitCode}/${s.exitSignal}):\n${s.stderr.split('\n').filter((l) => !/level=debug event=(chat_open|http)/.test(l)).slice(-150).join('\n')}`);
    }
  }
  await h.cleanup();
  if (redis) await redis.stop();
});

test('both nodes report the bus up in /healthz and /metrics', async () => {
  for (const s of [A, B]) {
    const r = await healthz(s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ok');
    assert.equal(await metric(s, 'switchboard_bus_up'), 1);
  }
  assert.match(A.stderr, /event=bus redis=redis:\/\/127\.0\.0\.1:\d+ node=A/);
});

test('chat: a message sent on node A reaches its receiver on node B; delivered/read go back to A', async () => {
  const tom = h.addUser(A.db, 'Tom Tech', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Admin', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const tomB = await h.login(B, tom, 'tomB'); // a second device of tom's, on the other node
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  await subscribed(redis, `user:${tom.id}`, 2);

  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'hello across nodes', client_message_id: 'c1' });
  const room = (await annB.waitFor(h.isType('new_room'))).data.room_id;
  const got = await annB.waitFor(h.isNewMessage((m) => m.text === 'hello across nodes'));
  assert.equal(got.data.room_id, room);
  assert.equal(got.data.message.is_sent, false);
  assert.equal('client_message_id' in got.data.message, false, 'the receiver sees no client_message_id');
  const mine = await tomB.waitFor(h.isNewMessage((m) => m.text === 'hello across nodes'));
  assert.equal(mine.data.message.is_sent, true, 'the sender\'s other device, on node B');
  assert.equal(mine.data.message.client_message_id, 'c1');
  const unread = await annB.waitFor(h.isType('unread_message_count'));
  assert.equal(unread.data.unread_count, 1);

  // ann (node B) marks it delivered then read: tom's devices on both nodes hear it
  const id = got.data.message.id;
  annB.send({ action: 'mark_delivered', message_id: id });
  for (const c of [tomA, tomB]) {
    await c.waitFor((m) => m.type === 'message_status' && m.data.message_id === id && m.data.status === 'delivered', { what: `${c.label}: delivered` });
  }
  annB.send({ action: 'mark_read', message_id: id });
  for (const c of [tomA, tomB]) {
    await c.waitFor((m) => m.type === 'message_status' && m.data.message_id === id && m.data.status === 'read', { what: `${c.label}: read` });
  }
  await annB.waitFor((m) => m.type === 'unread_message_count' && m.data.unread_count === 0, { what: 'ann: unread 0' });

  // and back: ann answers on node B, tom's devices on both nodes get it once
  annB.send({ action: 'send_message', room_id: room, text: 'hi from B', client_message_id: 'c2' });
  for (const c of [tomA, tomB]) {
    await c.waitFor(h.isNewMessage((m) => m.text === 'hi from B'), { what: `${c.label}: hi from B` });
  }
  await h.sleep(200);
  for (const c of [tomA, tomB, annB]) {
    assert.equal(c.count(h.isNewMessage((m) => m.text === 'hi from B')), 1, `${c.label}: once`);
    assert.equal(c.count(h.isNewMessage((m) => m.text === 'hello across nodes')), 1, `${c.label}: once`);
  }
  for (const c of [tomA, tomB, annB]) c.close();
});

test('realtime: an UPDATE posted to node A reaches Socket.IO clients on both nodes, once', async () => {
  const key = rt.apiKey(A.db);
  const co = `co-${Date.now()}`;
  const onA = await rt.connect(A, { tok: rt.token({ sub: 'ua', company_id: co }) });
  const onB = await rt.connect(B, { tok: rt.token({ sub: 'ub', company_id: co }), transports: ['websocket'] });
  const onBpoll = await rt.connect(B, { tok: rt.token({ sub: 'uc', company_id: co }), transports: ['polling'] });
  await subscribed(redis, `company:${co}`, 2);
  const r = await rt.update(A, { company_id: co, action: 'tick', data: { n: 1 }, requestId: 'u1' }, key);
  assert.equal(r.status, 200, r.text);
  for (const s of [onA, onB, onBpoll]) {
    await h.until(() => rt.updatesOf(s).length >= 1, h.T(5000), 'the UPDATE');
  }
  await h.sleep(200);
  for (const s of [onA, onB, onBpoll]) {
    const ups = rt.updatesOf(s);
    assert.equal(ups.length, 1, 'once');
    assert.deepEqual(ups[0].env, { type: 'UPDATE', requestId: 'u1', action: 'tick', data: { n: 1 } });
    assert.equal(ups[0].offset, r.json.offset, 'the same offset everywhere');
  }
  // and one posted to node B reaches node A's
  const r2 = await rt.update(B, { company_id: co, action: 'tock', requestId: 'u2' }, key);
  assert.equal(r2.status, 200);
  await h.until(() => rt.updatesOf(onA).length >= 2, h.T(5000), 'node A: the UPDATE posted to B');
  rt.closeAll();
});

test('realtime: a client recovering on node B while an UPDATE stored through A is still in Redis gets it once (the replay and the live delivery overlap)', async () => {
  // Redis busy (a script) while A stores u1: A delivers it to the client
  // at once, its PUBLISH waits in Redis; the client moves to B meanwhile and
  // recovers there from u1's offset; then Redis hands the PUBLISH to B,
  // which delivered it live once more before the recovering session's
  // filter (the cluster's KNOWN.rtTwice). Failed before, every run.
  const key = rt.apiKey(A.db);
  const co = `co-ovl-${Date.now()}`;
  const helper = await rt.connect(B, { tok: rt.token({ sub: 'uh', company_id: co }), transports: ['websocket'] });
  const c = await rt.connect(A, {
    tok: rt.token({ sub: 'uc', company_id: co }), transports: ['websocket'],
    reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200, randomizationFactor: 0,
  });
  await subscribed(redis, `company:${co}`, 2);
  const r0 = await rt.update(A, { company_id: co, action: 'tick', requestId: 'u0' }, key);
  assert.equal(r0.status, 200, r0.text);
  await h.until(() => rt.updatesOf(c).length === 1 && rt.updatesOf(helper).length === 1, h.T(5000), 'u0 on both nodes');
  let connects = 0; c.on('connect', () => { connects++; });
  const busy = net.connect(redis.port, '127.0.0.1');
  busy.on('data', () => {});
  await new Promise((resolve, reject) => { busy.once('connect', resolve); busy.once('error', reject); });
  const script = "local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 1500000 return 0";
  busy.write(`*3\r\n$4\r\nEVAL\r\n$${Buffer.byteLength(script)}\r\n${script}\r\n$1\r\n0\r\n`);
  await h.sleep(20);
  const r1 = await rt.update(A, { company_id: co, action: 'tick', requestId: 'u1' }, key);
  assert.equal(r1.status, 200, r1.text);
  c.io.uri = B.base; // its next connection goes to B, as a load balancer would send it
  c.io.engine.close();
  await h.until(() => connects === 1, h.T(5000), 'reconnected to B');
  assert.equal(c.recovered, true, 'recovered on B');
  await h.until(() => rt.updatesOf(c).some((m) => m.env.requestId === 'u1'), h.T(5000), 'u1 replayed');
  await h.until(() => rt.updatesOf(helper).some((m) => m.env.requestId === 'u1'), h.T(5000), 'u1 through Redis to B');
  await h.sleep(300);
  busy.destroy();
  const ids = rt.updatesOf(c).map((m) => m.env.requestId);
  assert.deepEqual(ids, ['u0', 'u1'], 'each once');
  rt.closeAll();
});

test('dashboard: a refresh through node A\'s operator API reaches a tab on node B', async () => {
  const key = dh.apikey(A);
  const fin = await dh.session(A, key, '7', '42');
  const tab = await dh.openDashboard(B, '7', fin, '42', 'tab on B');
  await subscribed(redis, 'dashboard:7', 1);
  const mark = tab.mark();
  const r = await dh.op(A, key, 'POST', '/api/v1/cases/7/components/timeline_1/refresh', { key: '20231130064924408779' });
  assert.equal(r.status, 200, r.text);
  const m = await tab.waitFor(dh.isAction('request_component_refresh'), { from: mark });
  assert.deepEqual(m.data, { component_id: 'timeline_1', key: '20231130064924408779' });
  tab.close();
});

test('therapy: a long poll held on node B returns when an action is saved on node A', async () => {
  const g = th.addGroup(A.db, 2, { tag: 'bus' });
  const onB = await th.browserIn(B, g.people[0], g.ts, 'p0 on B');
  const onA = await th.browserIn(A, g.people[1], g.ts, 'p1 on A');
  const last = th.checkActions(await onB.actions(0), 0).max_id;
  const poll = onB.actions(last, { wait: 5 });
  await subscribed(redis, `therapy:${g.ts}:wake`, 1);
  const t0 = performance.now();
  const r = await onA.save([th.msg(onA.user, 'across nodes')]);
  assert.equal(r.status, 200, r.text);
  const a = await poll;
  const ms = performance.now() - t0;
  const j = th.checkActions(a, last);
  assert.deepEqual(j.actions.map((x) => x.id), r.json.ids);
  assert.equal(j.actions[0].body, 'across nodes');
  assert.ok(ms < h.T(1500), `answered ${Math.round(ms)} ms after the save, not at the timeout`);
});

test('one serialization per message per node: a frame to many topics is one bus message, delivered once on the other node', async () => {
  // a service-less group room of three: tom on A sends; ann and bob on B get the same bytes
  const tom = h.addUser(A.db, 'Tom Two', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Two', 'ADMIN');
  const bob = h.addUser(A.db, 'Bob Two', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const annB = await h.login(B, ann, 'annB');
  const bobB = await h.login(B, bob, 'bobB');
  // ann's direct room with tom first (then the message below goes to one other user)
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'open', client_message_id: 'o1' });
  const room = (await annB.waitFor(h.isType('new_room'))).data.room_id;
  await annB.waitFor(h.isNewMessage((m) => m.text === 'open'));
  await subscribed(redis, `user:${bob.id}`, 1);

  const before = { A: await h.metrics(A), B: await h.metrics(B) };
  tomA.send({ action: 'send_message', room_id: room, text: 'counted', client_message_id: 'o2' });
  await annB.waitFor(h.isNewMessage((m) => m.text === 'counted'));
  await h.sleep(300);
  const after = { A: await h.metrics(A), B: await h.metrics(B) };
  const d = (n, k) => (after[n][k] || 0) - (before[n][k] || 0);
  // node A: the sender's copy (user:tom), ann's copy (user:ann) and ann's
  // unread count: three frames, three bus messages, each serialized once
  assert.equal(d('A', 'switchboard_bus_published_total'), 3, 'node A publishes each frame once');
  assert.equal(d('A', 'switchboard_messages_out_total{channel="chat",type="new_message"}'), 1,
    'node A wrote new_message to its one local connection (tom)');
  // node B delivers the frames its clients need, each once, without writing them again
  // node B: ann's new_message and unread count (tom's own copy is not
  // subscribed there)
  assert.equal(d('B', 'switchboard_bus_delivered_total'), 2, 'node B delivers each bus message once');
  assert.equal(d('B', 'switchboard_messages_out_total{channel="chat",type="new_message"}'), 0,
    'node B serialized nothing: it sent the bytes it received');
  assert.equal(d('B', 'switchboard_bus_deliveries_total'), 2, 'node B: two frames, one connection each (ann\'s)');
  assert.equal(d('B', 'switchboard_bus_malformed_total'), 0);
  assert.equal(annB.count(h.isNewMessage((m) => m.text === 'counted')), 1);
  assert.equal(bobB.count(h.isNewMessage((m) => m.text === 'counted')), 0, 'bob is not in the room');
  for (const c of [tomA, annB, bobB]) c.close();
});

test('a frame to several topics reaches a connection subscribed to two of them once (sb_outbox_also across nodes)', async () => {
  // a chat room of three is written once for all the non-senders (chat.c
  // uses sb_outbox_also): the bus message lists their topics, node B
  // hears it on each channel it subscribes to and delivers it once
  const t = h.addUser(A.db, 'Tina Three', 'TECHNICIAN');
  const u = h.addUser(A.db, 'Uma Three', 'ADMIN');
  const v = h.addUser(A.db, 'Vic Three', 'ADMIN');
  const svc = h.sqlite(A.db, `INSERT INTO chat_services(created_at, status) VALUES ('2024-01-01T00:00:00Z', 'OPEN') RETURNING id;`).trim();
  const roomId = h.sqlite(A.db, `INSERT INTO chat_rooms(type, service_id, created_at) VALUES ('SERVICE', ${svc}, 0) RETURNING id;`).trim();
  h.sqlite(A.db, `INSERT INTO chat_room_members(room_id, user_id) VALUES (${roomId}, ${t.id}), (${roomId}, ${u.id}), (${roomId}, ${v.id});`);
  const tA = await h.login(A, t, 'tA');
  const uB = await h.login(B, u, 'uB');
  const vB = await h.login(B, v, 'vB');
  await subscribed(redis, `user:${u.id}`, 1);
  await subscribed(redis, `user:${v.id}`, 1);
  const before = await h.metrics(B);
  tA.send({ action: 'send_message', room_id: roomId, text: 'to both', client_message_id: 'g1' });
  for (const c of [uB, vB]) await c.waitFor(h.isNewMessage((m) => m.text === 'to both'), { what: `${c.label}` });
  await h.sleep(300);
  const afterM = await h.metrics(B);
  for (const c of [uB, vB]) assert.equal(c.count(h.isNewMessage((m) => m.text === 'to both')), 1, `${c.label}: once`);
  const dup = (afterM['switchboard_bus_ignored_total{reason="duplicate"}'] || 0) - (before['switchboard_bus_ignored_total{reason="duplicate"}'] || 0);
  assert.ok(dup >= 1, `the second channel's copy was recognized (${dup})`);
  for (const c of [tA, uB, vB]) c.close();
});

/** A bus message as docs (runtime/bus.h) describe it. */
function busMessage({ node = 'Z', seq = 1n, flags = 0, pos, topics, frame }) {
  const seqb = Buffer.alloc(pos === undefined ? 8 : 16);
  seqb.writeBigUInt64BE(seq);
  if (pos !== undefined) { seqb.writeBigUInt64BE(pos, 8); flags |= 4; }
  const len = Buffer.alloc(4);
  len.writeUInt32BE(frame.length);
  const tl = Buffer.alloc(2);
  tl.writeUInt16BE(topics.length);
  return Buffer.concat([Buffer.from([0xb2, flags, node.length]), Buffer.from(node), seqb, tl,
    ...topics.map((t) => Buffer.concat([Buffer.from([Buffer.byteLength(t)]), Buffer.from(t)])), len, frame]);
}

test('a message of another node, written by the documented format: delivered as it came, binary flag kept, once per (node, seq)', async () => {
  const ann = h.addUser(A.db, 'Ann Wire', 'ADMIN');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  const ch = `sb:t:user:${ann.id}`;
  const text = Buffer.from('{"type":"heartbeat_response","status":"ok","data":{"status":"wire"}}');
  const bin = Buffer.from([0, 1, 2, 255]);
  const mark = annB.mark();
  const bins = [];
  annB.ws.on('message', (d, isBinary) => { if (isBinary) bins.push(Buffer.from(d)); });
  await rawPublish(redis.port, ch, busMessage({ seq: 7n, topics: [`user:${ann.id}`], frame: text }));
  await rawPublish(redis.port, ch, busMessage({ seq: 7n, topics: [`user:${ann.id}`], frame: text })); // a copy
  await rawPublish(redis.port, ch, busMessage({ seq: 8n, flags: 1, topics: ['room:none', `user:${ann.id}`], frame: bin }));
  await annB.waitForN(() => true, 2, { from: mark, what: 'the two frames' });
  // a positioned frame (bus v2): delivered like any other (no filter on a connection without since=)
  await rawPublish(redis.port, ch, busMessage({ seq: 9n, pos: 12345n, topics: [`user:${ann.id}`], frame: text }));
  await annB.waitForN(() => true, 3, { from: mark, what: 'the positioned frame' });
  await h.sleep(200);
  assert.equal(annB.raw[mark], text.toString(), 'the text frame, byte for byte');
  assert.deepEqual(annB.messages[mark].data, { status: 'wire' });
  assert.equal(annB.messages[mark + 1].isBinary, true, 'the binary frame stays binary');
  assert.deepEqual(bins, [bin], 'byte for byte');
  assert.equal(annB.raw[mark + 2], text.toString(), 'the positioned frame, byte for byte');
  assert.equal(annB.messages.length, mark + 3, 'the copy of seq 7 was not delivered again');
  annB.close();
});

test('a topic subscribed and unsubscribed in quick succession ends subscribed exactly while it has local subscribers', async () => {
  // the bus never pipelines a channel's SUBSCRIBE behind its UNSUBSCRIBE
  // (bus.c): the last state wins all the same
  const tom = h.addUser(A.db, 'Tom Churn', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Churn', 'ADMIN');
  const ch = `sb:t:user:${ann.id}`;
  for (let i = 0; i < 20; i++) {
    const c = await h.connect(B, { token: ann.token, label: `churn${i}` });
    c.terminate(); // the close and the next open race the Redis replies
  }
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  const tomA = await h.login(A, tom, 'tomA');
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'after the churn', client_message_id: 'ch1' });
  await annB.waitFor(h.isNewMessage((m) => m.text === 'after the churn'));
  annB.close();
  await annB.waitClose();
  await h.until(() => numsub(redis, ch) === 0, h.T(5000), 'unsubscribed once nobody listens on B');
  // and back again
  const annB2 = await h.login(B, ann, 'annB2');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'again', client_message_id: 'ch2' });
  await annB2.waitFor(h.isNewMessage((m) => m.text === 'again'));
  tomA.close();
  annB2.close();
});

test('subscribeArtifact / unsubscribeArtifact in one burst: the last one wins, across nodes', async () => {
  // SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE of one channel in a burst: the bus
  // waits for each unsubscribe reply before subscribing again (bus.c)
  const key = rt.apiKey(A.db);
  const co = `co-burst-${Date.now()}`;
  const s = await rt.connect(B, { tok: rt.token({ sub: 'ub', company_id: co, artifacts: ['doc-1'] }), transports: ['websocket'] });
  const ids = [];
  for (const action of ['subscribeArtifact', 'unsubscribeArtifact', 'subscribeArtifact', 'unsubscribeArtifact', 'subscribeArtifact']) {
    ids.push(rt.request(s, action, { artifactId: 'doc-1' }));
  }
  for (const id of ids) assert.equal((await rt.answer(s, id)).type, 'RESPONSE');
  await subscribed(redis, `artifact:${co.length}:${co}/doc-1`, 1);
  const r = await rt.update(A, { company_id: co, artifact_id: 'doc-1', action: 'edited', requestId: 'd1' }, key);
  assert.equal(r.status, 200, r.text);
  await h.until(() => rt.updatesOf(s).some((u) => u.env.requestId === 'd1'), h.T(5000), 'B: the artifact\'s UPDATE');
  rt.closeAll();
});

test('malformed bus messages are logged, counted and dropped; the node keeps serving', async () => {
  const tom = h.addUser(A.db, 'Tom Bad', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Bad', 'ADMIN');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  const before = await metric(B, 'switchboard_bus_malformed_total');
  const ch = `sb:t:user:${ann.id}`;
  redis.cli('PUBLISH', ch, 'not a bus message');
  const topic = Buffer.from(`user:${ann.id}`);
  const head = (flags, topics) => Buffer.concat([Buffer.from([0xb2, flags, 1]), Buffer.from('Z'), Buffer.alloc(7), Buffer.from([9]),
    Buffer.from([0, topics.length]), ...topics.map((t) => Buffer.concat([Buffer.from([t.length]), t]))]);
  const frame = Buffer.from('{"type":"new_message"}');
  const len = (n) => Buffer.from([0, 0, n >> 8, n & 255]);
  const bad = [
    Buffer.from([0xb2]), // the magic alone
    Buffer.from([0xb2, 0, 1, 0x5a]), // truncated after the node id
    Buffer.concat([Buffer.from([0xb1, 0, 1]), Buffer.from('Z'), Buffer.alloc(8), Buffer.from([0, 1, topic.length]), topic, len(frame.length), frame]), // bus v1
    Buffer.concat([head(4, [topic]).subarray(0, 13)]), // positioned, truncated in its position
    Buffer.concat([head(2 | 4, []), len(0)]), // a gap notice with a position
    Buffer.concat([head(0x80, [topic]), len(frame.length), frame]), // an unknown flag
    Buffer.concat([head(0, [topic]), len(100), frame]), // the frame's length lies
    Buffer.concat([head(0, []), len(frame.length), frame]), // no topic
    Buffer.concat([head(0, [Buffer.from('a\0b')]), len(frame.length), frame]), // a NUL in a topic
    Buffer.concat([head(2, []), len(0)]), // a gap notice off sb:gap
  ];
  for (const m of bad) await rawPublish(redis.port, ch, m);
  await h.until(async () => (await metric(B, 'switchboard_bus_malformed_total')) - before >= bad.length + 1, h.T(5000), 'malformed counted');
  assert.equal((await metric(B, 'switchboard_bus_malformed_total')) - before, bad.length + 1, 'each counted once');
  assert.match(B.stderr, /event=bus_malformed channel=sb:t:user:\d+ error="bad magic or version"/);
  assert.equal(annB.messages.length, 1, 'nothing reached the client (only its login heartbeat answer)');
  // still serving, across nodes too
  const tomA = await h.login(A, tom, 'tomA');
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'still here', client_message_id: 'b1' });
  await annB.waitFor(h.isNewMessage((m) => m.text === 'still here'));
  assert.equal((await healthz(B)).status, 200);
  tomA.close();
  annB.close();
});

/** PUBLISH with an exact binary payload (RESP over a socket). */
function rawPublish(port, channel, payload) {
  return h.withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      const parts = [Buffer.from('PUBLISH'), Buffer.from(channel), payload];
      const chunks = [Buffer.from(`*${parts.length}\r\n`)];
      for (const p of parts) chunks.push(Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n'));
      sock.write(Buffer.concat(chunks));
    });
    sock.once('data', (d) => { sock.end(); resolve(d.toString()); });
    sock.once('error', reject);
  }), h.T(5000), 'raw PUBLISH');
}

/**
 * A chat client that follows the protocol (docs/protocols/chat.md): closed
 * with 1012, it reconnects with since= the newest message id it has seen.
 * ids: every new_message id it got, in order.
 */
function follower(server, user, label) {
  const ids = [];
  let newest = 0n; let stop = false; let conns = 0; let current = null;
  const run = (async () => {
    while (!stop) {
      const c = current = await h.login(server, user, `${label}#${conns++}`, newest ? { query: `since=${newest}` } : {});
      let i = 0;
      const take = () => {
        for (; i < c.messages.length; i++) {
          const m = c.messages[i];
          if (m.type !== 'new_message') continue;
          ids.push(m.data.message.id);
          if (BigInt(m.data.message.id) > newest) newest = BigInt(m.data.message.id);
        }
      };
      while (!stop && !c.closeInfo) { take(); await h.sleep(2); }
      take();
      if (!stop && c.closeInfo.code !== 1012) throw new Error(`${c.label}: closed with ${c.closeInfo.code}`);
    }
  })();
  return { ids, conns: () => conns, async stop() { stop = true; current?.close(); await run; } };
}

test('a gap: a chat client gets every message once, with messages stored right as the bus comes back', async () => {
  // Both subscribe connections are killed while node A stores a message
  // every few ms: what A publishes while B is not subscribed is lost to B,
  // and B's subscription comes back while A goes on. Before B's gap
  // handlers closed its sockets (50 ms after the subscription was back),
  // ann on B got A's newer messages live and resumed after them. Since the
  // outage replay, B's gap replays to ann what she lacks, without a close.
  const tom = h.addUser(A.db, 'Tom Race', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Race', 'ADMIN');
  let tomA = await h.login(A, tom, 'tomA');
  const annB = follower(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'race 0', client_message_id: 'r0' });
  const room = (await tomA.waitFor(h.isNewMessage((m) => m.text === 'race 0'))).data.room_id;
  await h.until(() => annB.ids.length === 1, h.T(5000), 'ann got the first message');
  const gapsB = await metric(B, 'switchboard_bus_gaps_total');
  let sending = true; let sent = 1;
  const sender = (async () => {
    while (sending) {
      // tom's socket on A is closed by A's own gap handlers: a new one, as a client would
      if (tomA.closeInfo) tomA = await h.login(A, tom, `tomA#${sent}`);
      tomA.send({ action: 'send_message', room_id: room, text: `race ${sent}`, client_message_id: `r${sent}` });
      sent++;
      await h.sleep(4);
    }
  })();
  await h.sleep(100);
  redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
  await h.until(async () => (await metric(B, 'switchboard_bus_gaps_total')) > gapsB && (await metric(B, 'switchboard_bus_up')) === 1,
    h.T(10000), 'B subscribed again and ran its gap handlers');
  await h.sleep(300); // and A goes on storing for a while
  sending = false;
  await sender;
  await h.sleep(200); // the last sends stored
  const stored = h.sqlite(A.db, `SELECT id FROM chat_messages WHERE room_id = ${room} ORDER BY id`).trim().split('\n');
  assert.ok(stored.length >= 50, `stored ${stored.length}`);
  await h.until(() => new Set(annB.ids).size >= stored.length, h.T(10000), 'ann has every message').catch(() => {});
  await h.sleep(300);
  await annB.stop();
  const missing = stored.filter((id) => !annB.ids.includes(id));
  assert.deepEqual(missing, [], `ann (${annB.conns()} connections) never got ${missing.length} of ${stored.length}`);
  const twice = annB.ids.filter((id, i) => annB.ids.indexOf(id) !== i);
  assert.deepEqual(twice, [], 'nothing twice');
  assert.equal(annB.conns(), 1, 'ann was not closed: the gap replayed what she missed');
  tomA.close();
});

test('Redis killed: both nodes keep delivering locally and say degraded; back: healthy, and every client catches up from the database', async () => {
  const tom = h.addUser(A.db, 'Tom Gap', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Gap', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const tomA2 = await h.login(A, tom, 'tomA2');
  const annB = await h.login(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'before', client_message_id: 'g0' });
  const room = (await annB.waitFor(h.isType('new_room'))).data.room_id;
  const first = await annB.waitFor(h.isNewMessage((m) => m.text === 'before'));
  const key = dh.apikey(A);
  const fin = await dh.session(A, key, '9', '42');
  const tab = await dh.openDashboard(B, '9', fin, '42', 'tab on B');
  await subscribed(redis, 'dashboard:9', 1);

  const port = redis.port;
  await redis.stop();
  for (const s of [A, B]) {
    await h.until(async () => (await healthz(s)).status === 503, h.T(5000), `${s.name} degraded`);
    const r = await healthz(s);
    assert.equal(r.json.status, 'degraded');
    assert.match(r.json.reason, /^bus: redis unreachable \((subscribe|publish): .+\)$/);
    assert.equal(await metric(s, 'switchboard_bus_up'), 0);
  }
  // local delivery goes on: tom's two devices on A hear each other
  tomA.send({ action: 'send_message', room_id: room, text: 'during', client_message_id: 'g1' });
  const during = await tomA2.waitFor(h.isNewMessage((m) => m.text === 'during'));
  await tomA.waitFor(h.isNewMessage((m) => m.text === 'during'));
  assert.ok(await metric(A, 'switchboard_bus_dropped_total{reason="redis_down"}') >= 1, 'counted as dropped');
  await h.sleep(300);
  assert.equal(annB.count(h.isNewMessage((m) => m.text === 'during')), 0, 'node B could not hear it');
  // a dashboard change through A meanwhile
  const v0 = (await dh.op(A, key, 'GET', '/api/v1/cases/9/dashboard')).json.version;
  const put = await dh.op(A, key, 'PUT', '/api/v1/cases/9/dashboard', dh.tallBody(v0));
  assert.equal(put.status, 200, put.text);
  const gapsBefore = await metric(B, 'switchboard_bus_gaps_total');

  redis = await startRedis(port);
  for (const s of [A, B]) {
    await h.until(async () => (await healthz(s)).status === 200, h.T(10000), `${s.name} healthy again`);
    assert.equal(await metric(s, 'switchboard_bus_up'), 1);
  }
  assert.ok(await metric(B, 'switchboard_bus_gaps_total') > gapsBefore, 'node B ran its gap handlers');
  // node B may run them twice: for its own subscription, and for node A's
  // notice of the publishes it dropped, if B was subscribed again when A
  // sent it (what A dropped may then be newer than B's first catch-up).
  // Wait for the notice and its handlers before reconnecting, or the second
  // run closes the new connection too (which is right, and a client retries).
  await h.until(async () => (await metric(A, 'switchboard_bus_gap_notices_total')) >= 1, h.T(5000), 'A: gap notice sent');
  await h.sleep(300); // the notice's handlers run as it arrives
  // chat: ann's connection, open through the outage, got what she missed
  // replayed at the gap, once (the outage replay), and was not closed
  const missed = await annB.waitFor(h.isNewMessage((m) => m.text === 'during'), { what: 'the missed message' });
  assert.equal(missed.data.message.id, during.data.message.id, 'nothing acknowledged was lost');
  assert.equal(annB.closeInfo, null, 'not closed');
  // a client that reconnects with since= gets it too
  const annB2 = await h.login(B, ann, 'annB2', { query: `since=${first.data.message.id}` });
  await annB2.waitFor(h.isNewMessage((m) => m.text === 'during'), { what: 'the missed message, since=' });
  // dashboard: the tab got a fresh init_data with the change made meanwhile
  const init = await tab.waitFor((m) => m.action === 'init_data' && m.data.dsettings.layout_type === 'view_tall_3', { what: 'fresh init_data' });
  assert.ok(init);
  // tom's connections on A were not closed either, and got 'during' once
  await h.sleep(200);
  assert.equal(tomA.closeInfo, null, 'tomA not closed');
  assert.equal(tomA.count(h.isNewMessage((m) => m.text === 'during')), 1, 'tomA: during once');
  assert.equal(tomA2.count(h.isNewMessage((m) => m.text === 'during')), 1, 'tomA2: during once');
  assert.equal(annB.count(h.isNewMessage((m) => m.text === 'during')), 1, 'annB: during once');
  // and the bus works again both ways
  const tomA3 = await h.login(A, tom, 'tomA3');
  await subscribed(redis, `user:${ann.id}`, 1).catch((e) => {
    console.error(B.stderr.split('\n').filter((l) => /bus|chat_open|chat_close|gap/.test(l)).slice(-40).join('\n'));
    throw e;
  });
  tomA3.send({ action: 'send_message', room_id: room, text: 'after', client_message_id: 'g2' });
  await annB2.waitFor(h.isNewMessage((m) => m.text === 'after'));
  await annB.waitFor(h.isNewMessage((m) => m.text === 'after'));
  assert.equal(numsub(redis, 'sb:gap'), 2, 'both nodes listen for gap notices');
  for (const c of [tomA, tomA2, tomA3, annB, annB2, tab]) c.close();
});

test('Redis down: a chat client on node B gets what node A stored meanwhile, though its own node\'s newer message came live (the outage replay)', async () => {
  // Before the outage replay, B's gap closed ann with 1012 and she resumed
  // with since= the newest ID she had: liveB, stored through B during the
  // outage after lostA (stored through A, lost to B): lostA never came.
  const tom = h.addUser(A.db, 'Tom Own', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Own', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  const tomB = await h.login(B, tom, 'tomB');
  const annB = follower(B, ann, 'annB');
  await subscribed(redis, `user:${ann.id}`, 1);
  await subscribed(redis, `user:${tom.id}`, 2);
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'own 0', client_message_id: 'o0' });
  const room = (await tomA.waitFor(h.isNewMessage((m) => m.text === 'own 0'))).data.room_id;
  await h.until(() => annB.ids.length === 1, h.T(5000), 'ann got the first message');
  await tomB.waitFor(h.isNewMessage((m) => m.text === 'own 0'));

  const port = redis.port;
  await redis.stop();
  for (const s of [A, B]) {
    await h.until(async () => (await metric(s, 'switchboard_bus_up')) === 0, h.T(5000), `${s.name} down`);
  }
  tomA.send({ action: 'send_message', room_id: room, text: 'lostA', client_message_id: 'o1' });
  const lostA = (await tomA.waitFor(h.isNewMessage((m) => m.text === 'lostA'))).data.message.id;
  tomB.send({ action: 'send_message', room_id: room, text: 'liveB', client_message_id: 'o2' });
  const liveB = (await tomB.waitFor(h.isNewMessage((m) => m.text === 'liveB'))).data.message.id;
  assert.ok(BigInt(liveB) > BigInt(lostA), 'stored in that order');
  await h.until(() => annB.ids.includes(liveB), h.T(5000), 'ann got liveB live');
  assert.ok(!annB.ids.includes(lostA), 'B could not hear lostA');
  const gapsB = await metric(B, 'switchboard_bus_gaps_total');
  const noticesA = await metric(A, 'switchboard_bus_gap_notices_total');

  redis = await startRedis(port);
  for (const s of [A, B]) {
    await h.until(async () => (await healthz(s)).status === 200, h.T(10000), `${s.name} healthy again`);
  }
  await h.until(async () => (await metric(B, 'switchboard_bus_gaps_total')) > gapsB, h.T(5000), 'B ran its gap handlers');
  await h.until(async () => (await metric(A, 'switchboard_bus_gap_notices_total')) > noticesA, h.T(5000), 'A: gap notice sent');
  await h.until(() => annB.ids.includes(lostA), h.T(5000), 'ann got lostA').catch(() => {});
  await h.sleep(300);
  await annB.stop();
  assert.ok(annB.ids.includes(lostA), `ann never got lostA (${lostA}); she had ${annB.ids.join(',')} in ${annB.conns()} connections`);
  const twice = annB.ids.filter((id, i) => annB.ids.indexOf(id) !== i);
  assert.deepEqual(twice, [], 'nothing twice');
  assert.equal(tomB.count(h.isNewMessage((m) => m.text === 'lostA')), 1, 'tomB: lostA once, replayed');
  assert.equal(tomB.count(h.isNewMessage((m) => m.text === 'liveB')), 1, 'tomB: liveB once');
  for (const c of [tomA, tomB]) c.close();
});

test('since= on a node without a subscriber of the topic: what is stored during its SUBSCRIBE is delivered, every message exactly once', async () => {
  // ann keeps reconnecting to B, where nobody else is subscribed to her
  // topic, with since= her newest id, while tom on A sends every few ms.
  // Before the catch-up replay at the SUBSCRIBE's confirmation, a message
  // stored between the replay's read and that confirmation reached her
  // neither way; with it, the replays and the live frames overlap and the
  // connection's filter drops the second copy.
  const tom = h.addUser(A.db, 'Tom Window', 'TECHNICIAN');
  const ann = h.addUser(A.db, 'Ann Window', 'ADMIN');
  const tomA = await h.login(A, tom, 'tomA');
  tomA.send({ action: 'send_message', receiver_id: ann.id, text: 'w 0', client_message_id: 'w0' });
  const first = (await tomA.waitFor(h.isNewMessage((m) => m.text === 'w 0'))).data;
  const room = first.room_id;
  let sending = true; let sent = 1;
  const sender = (async () => {
    while (sending) {
      tomA.send({ action: 'send_message', room_id: room, text: `w ${sent}`, client_message_id: `w${sent}` });
      sent++;
      await h.sleep(2);
    }
  })();
  // Redis busy for 40 ms (a script) as ann connects: B's SUBSCRIBE waits
  // in Redis behind A's PUBLISHes of what A stored after B's replay read,
  // as a loaded Redis would keep it waiting; the window is 40 ms wide.
  const busy = net.connect(redis.port, '127.0.0.1');
  busy.on('data', () => {});
  await new Promise((resolve, reject) => { busy.once('connect', resolve); busy.once('error', reject); });
  const script = "local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 40000 return 0";
  const block = () => busy.write(`*3\r\n$4\r\nEVAL\r\n$${Buffer.byteLength(script)}\r\n${script}\r\n$1\r\n0\r\n`);
  const ids = []; let newest = BigInt(first.message.id); // every connection resumes: since=
  for (let k = 0; k < 40; k++) {
    block();
    await h.sleep(2);
    const c = await h.login(B, ann, `annB#${k}`, { query: `since=${newest}` });
    await h.sleep(60);
    c.close();
    await h.sleep(30); // its last frames, and B unsubscribes: the next one is the first again
    for (const m of c.messages) {
      if (m.type !== 'new_message') continue;
      ids.push(m.data.message.id);
      if (BigInt(m.data.message.id) > newest) newest = BigInt(m.data.message.id);
    }
  }
  sending = false;
  await sender;
  await h.sleep(200);
  const last = await h.login(B, ann, 'annB#last', { query: `since=${newest}` });
  await h.sleep(300);
  last.close();
  for (const m of last.messages) if (m.type === 'new_message') ids.push(m.data.message.id);
  busy.destroy();
  const stored = h.sqlite(A.db, `SELECT id FROM chat_messages WHERE room_id = ${room} AND id > ${first.message.id} ORDER BY id`).trim().split('\n');
  assert.ok(stored.length >= 100, `stored ${stored.length}`);
  const missing = stored.filter((id) => !ids.includes(id));
  assert.deepEqual(missing, [], `ann never got ${missing.length} of ${stored.length}`);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(twice, [], 'nothing twice');
  tomA.close();
});
